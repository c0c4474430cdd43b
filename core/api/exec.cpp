// /exec/*: Kleene's execution instances (start is a WebSocket).
#include "api/context.hpp"
#include "api/stubs.hpp"

namespace kleene::api {

void register_exec_routes(Router& router, ApiContext&) {
  router.post("/exec/create", not_implemented_handler, kJsonBody);
  router.websocket("/exec/start", not_implemented_ws_handler);
  router.post("/exec/{exec_id}/stop", not_implemented_handler);
}

}  // namespace kleene::api
