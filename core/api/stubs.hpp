// Placeholders for Kleene routes that later issues build (internal to core/api).
#pragma once

#include "api/router.hpp"
#include "api/websocket.hpp"

namespace kleene::api {

// 501 {"message":"not implemented yet"}; the router has already validated the body.
inline Response not_implemented_handler(const Request&) {
  return Response::not_implemented();
}

// Read the config frame (1002 if it is not a JSON object), then close 1011 "not implemented yet".
inline void not_implemented_ws_handler(WsSession& session, const Request&) {
  if (session.receive_config()) (void)session.close_error("not implemented yet");
}

inline constexpr RouteOptions kJsonBody{.json_object_body = true};

}  // namespace kleene::api
