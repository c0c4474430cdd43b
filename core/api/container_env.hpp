// Shared by the container and exec routes (internal to core/api): the container layer's Env
// for a request, and the mapping of its errors to Kleene's statuses.
#pragma once

#include <expected>
#include <memory>

#include "api/storage_ready.hpp"
#include "api/websocket.hpp"
#include "container/bind.hpp"
#include "container/container.hpp"

namespace kleene::api {

// The Env, or the 500 that storage_ready.hpp gives while store or storage is missing.
inline std::expected<std::unique_ptr<container::BoundEnv>, Response> container_env(
    const ApiContext& context) {
  if (auto storage = ready_storage(context); !storage) return std::unexpected(storage.error());
  auto bound = container::bind(context);
  if (!bound) return std::unexpected(Response::message(500, bound.error().message));
  return std::move(*bound);
}

// ENOENT and ambiguous ids 404, EEXIST/EBUSY 409, EINVAL 400, the rest 500.
inline Response container_failure(const Error& error) {
  switch (error.code) {
    case ENOENT:
    case ENOTUNIQ:
      return Response::message(404, error.message);
    case EEXIST:
    case EBUSY:
      return Response::message(409, error.message);
    case EINVAL:
      return Response::message(400, error.message);
    default:
      return Response::message(500, error.message);
  }
}

// A WebSocket handler's answer when container_env() failed: Close 1011 with the response's
// message.
inline void close_on_failure(WsSession& ws, const Response& failure) {
  const auto body = nlohmann::json::parse(failure.body, nullptr, false);
  (void)ws.close_error(body.is_object() ? body.value("message", "server error") : "server error");
}

inline Response config_failure(const container::ConfigError& error) {
  return Response::invalid(error.pointer, error.message);
}

}  // namespace kleene::api
