// State shared by the listeners and sessions of one Server (internal).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "api/handler_pool.hpp"
#include "api/router.hpp"
#include "api/server.hpp"

namespace kleene::api::detail {

namespace net = boost::asio;

struct ServerCore;

// A connection (HTTP or WebSocket) that stop() can reach.
class SessionBase {
 public:
  explicit SessionBase(ServerCore& core);
  virtual ~SessionBase();
  SessionBase(const SessionBase&) = delete;
  SessionBase& operator=(const SessionBase&) = delete;
  // Called from any thread: finish what is in flight, then close. Must not block.
  virtual void shutdown() = 0;

 protected:
  ServerCore& core_;
};

// One place under a cap (max_connections or max_websocket_sessions), given back when the last
// owner drops it: a connection's passes from its HTTP session to the WebSocket it becomes.
class Slot {
 public:
  enum class Kind { connection, websocket };
  Slot(ServerCore& core, Kind kind) : core_(core), kind_(kind) {}
  ~Slot();
  Slot(const Slot&) = delete;
  Slot& operator=(const Slot&) = delete;

 private:
  ServerCore& core_;
  Kind kind_;
};
using SlotPtr = std::shared_ptr<Slot>;

struct ServerCore {
  ServerCore(const Router& router_in, ServerOptions options_in);

  // A place for a new connection or WebSocket session; null when the cap is reached. The
  // first refusal of a burst is logged, and the end of the burst with the count refused.
  SlotPtr acquire(Slot::Kind kind);

  void track(const std::shared_ptr<SessionBase>& session);
  void shutdown_sessions();
  // Wait until no session is alive (or the deadline passes); true when all are gone.
  bool wait_sessions_gone(std::chrono::milliseconds timeout);

  // Run a WebSocket handler on its own thread (it may block for the life of the connection);
  // false when no thread could be started.
  bool spawn_ws_thread(std::shared_ptr<WsSession> session, const WsHandler& handler,
                       Request request);
  bool wait_ws_threads(std::chrono::milliseconds timeout);

  // Around each request handler on the pool: when the last running handler (pool or
  // WebSocket) ends, free memory is trimmed after options.idle_trim_delay unless another one
  // started meanwhile.
  void handler_started();
  void handler_finished();

  const Router& router;
  const ServerOptions options;
  std::atomic<bool> stopping{false};

  std::mutex mutex;
  std::condition_variable changed;
  std::unordered_map<SessionBase*, std::weak_ptr<SessionBase>> sessions;
  std::size_t live_sessions = 0;
  std::size_t ws_threads = 0;
  std::size_t pool_handlers = 0;  // queued or running on handler_pool

  struct Cap {
    std::size_t open = 0;
    std::size_t refused = 0;  // since the cap was last reached; 0 while under it
  };
  Cap connections;
  Cap websockets;
  std::atomic<int> refusals{0};  // connections over the cap being answered 503

  // Declared last: destroyed first, so handlers still queued can release their sessions
  // while the registry above is alive.
  HandlerPool handler_pool;
  net::io_context ioc;
  // After ioc: goes before it. Armed and cancelled with `mutex` held, never once `stopping`.
  net::steady_timer idle_trim;

 private:
  friend class Slot;
  void release(Slot::Kind kind);
  void arm_idle_trim_locked();
};

}  // namespace kleene::api::detail
