#include "api/server_core.hpp"

#include <malloc.h>

#include <spdlog/spdlog.h>

#include <system_error>
#include <thread>

#include "api/websocket.hpp"

namespace kleene::api::detail {

SessionBase::SessionBase(ServerCore& core) : core_(core) {
  std::lock_guard lock(core_.mutex);
  ++core_.live_sessions;
}

SessionBase::~SessionBase() {
  std::lock_guard lock(core_.mutex);
  core_.sessions.erase(this);
  --core_.live_sessions;
  core_.changed.notify_all();
}

ServerCore::ServerCore(const Router& router_in, ServerOptions options_in)
    : router(router_in),
      options(std::move(options_in)),
      // A quarter of the handler threads is kept for reads (handler_pool.hpp).
      handler_pool(options.handler_threads, options.handler_threads / 4),
      ioc(static_cast<int>(options.io_threads)),
      idle_trim(ioc) {}

namespace {

const char* cap_name(Slot::Kind kind) {
  return kind == Slot::Kind::connection ? "connections" : "WebSocket sessions";
}

}  // namespace

Slot::~Slot() {
  core_.release(kind_);
}

SlotPtr ServerCore::acquire(Slot::Kind kind) {
  const bool connection = kind == Slot::Kind::connection;
  const std::size_t limit = connection ? options.max_connections : options.max_websocket_sessions;
  {
    std::lock_guard lock(mutex);
    Cap& cap = connection ? connections : websockets;
    if (cap.open < limit) {
      ++cap.open;
      return std::make_shared<Slot>(*this, kind);
    }
    if (cap.refused++ != 0) return nullptr;
  }
  spdlog::warn("{} {} open, the limit: refusing more until some close", limit, cap_name(kind));
  return nullptr;
}

void ServerCore::release(Slot::Kind kind) {
  std::size_t refused = 0;
  {
    std::lock_guard lock(mutex);
    Cap& cap = kind == Slot::Kind::connection ? connections : websockets;
    --cap.open;
    std::swap(refused, cap.refused);
  }
  if (refused != 0)
    spdlog::warn("accepting {} again ({} refused at the limit)", cap_name(kind), refused);
}

void ServerCore::track(const std::shared_ptr<SessionBase>& session) {
  {
    std::lock_guard lock(mutex);
    sessions.emplace(session.get(), session);
  }
  // A connection accepted while stop() ran must not survive it.
  if (stopping) session->shutdown();
}

void ServerCore::shutdown_sessions() {
  std::vector<std::shared_ptr<SessionBase>> alive;
  {
    std::lock_guard lock(mutex);
    for (auto& [raw, weak] : sessions)
      if (auto session = weak.lock()) alive.push_back(std::move(session));
  }
  for (auto& session : alive)
    session->shutdown();
}

bool ServerCore::wait_sessions_gone(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex);
  return changed.wait_for(lock, timeout, [&] { return live_sessions == 0; });
}

bool ServerCore::spawn_ws_thread(std::shared_ptr<WsSession> session, const WsHandler& handler,
                                 Request request) {
  {
    std::lock_guard lock(mutex);
    ++ws_threads;
  }
  const std::string path = request.path;
  try {
    std::thread([this, session = std::move(session), &handler,
                 request = std::move(request)]() mutable {
      try {
        handler(*session, request);
      } catch (const std::exception& e) {
        spdlog::error("websocket {}: handler failed: {}", request.path, e.what());
      }
      // The protocol's answer to a crash: 1011 with an empty reason.
      if (!session->closed()) (void)session->close(kCloseInternalError, "");
      session.reset();
      std::lock_guard lock(mutex);
      --ws_threads;
      arm_idle_trim_locked();
      changed.notify_all();
    }).detach();
    return true;
  } catch (const std::system_error& e) {
    // Within max_websocket_sessions this should not happen; if the system refuses a thread
    // anyway, the exception must not take the I/O thread down.
    spdlog::error("websocket {}: cannot start its thread: {}", path, e.what());
    std::lock_guard lock(mutex);
    --ws_threads;
    changed.notify_all();
    return false;
  }
}

void ServerCore::handler_started() {
  std::lock_guard lock(mutex);
  ++pool_handlers;
}

void ServerCore::handler_finished() {
  std::lock_guard lock(mutex);
  --pool_handlers;
  arm_idle_trim_locked();
}

void ServerCore::arm_idle_trim_locked() {
  if (pool_handlers != 0 || ws_threads != 0 || stopping) return;
  // Re-arming cancels the wait of an earlier idle moment: one trim per quiet period.
  idle_trim.expires_after(options.idle_trim_delay);
  idle_trim.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    {
      std::lock_guard lock(mutex);
      if (pool_handlers != 0 || ws_threads != 0 || stopping) return;
    }
    // Outside the lock: it walks every arena (under their own locks) and may take a while.
    ::malloc_trim(0);
  });
}

bool ServerCore::wait_ws_threads(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex);
  return changed.wait_for(lock, timeout, [&] { return ws_threads == 0; });
}

}  // namespace kleene::api::detail
