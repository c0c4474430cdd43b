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

struct ServerCore {
  ServerCore(const Router& router_in, ServerOptions options_in);

  void track(const std::shared_ptr<SessionBase>& session);
  void shutdown_sessions();
  // Wait until no session is alive (or the deadline passes); true when all are gone.
  bool wait_sessions_gone(std::chrono::milliseconds timeout);

  // Run a WebSocket handler on its own thread (it may block for the life of the connection).
  void spawn_ws_thread(std::shared_ptr<WsSession> session, const WsHandler& handler,
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

  // Declared last: destroyed first, so handlers still queued can release their sessions
  // while the registry above is alive.
  HandlerPool handler_pool;
  net::io_context ioc;
  // After ioc: goes before it. Armed and cancelled with `mutex` held, never once `stopping`.
  net::steady_timer idle_trim;

 private:
  void arm_idle_trim_locked();
};

}  // namespace kleene::api::detail
