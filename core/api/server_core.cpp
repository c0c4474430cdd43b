#include "api/server_core.hpp"

#include <malloc.h>

#include <spdlog/spdlog.h>

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
      handler_pool(options.handler_threads),
      ioc(static_cast<int>(options.io_threads)),
      idle_trim(ioc) {}

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

void ServerCore::spawn_ws_thread(std::shared_ptr<WsSession> session, const WsHandler& handler,
                                 Request request) {
  {
    std::lock_guard lock(mutex);
    ++ws_threads;
  }
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
