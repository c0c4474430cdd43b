// /images/*: Kleene's image routes (build and create are WebSockets).
#include "api/context.hpp"
#include "api/stubs.hpp"

namespace kleene::api {

void register_image_routes(Router& router, ApiContext&) {
  router.websocket("/images/build", not_implemented_ws_handler);
  router.websocket("/images/create", not_implemented_ws_handler);
  router.get("/images/list", not_implemented_handler);
  router.post("/images/prune", not_implemented_handler);
  router.del("/images/{image_id}", not_implemented_handler);
  router.get("/images/{image_id}/inspect", not_implemented_handler);
  router.post("/images/{image_id}/tag", not_implemented_handler);
}

}  // namespace kleene::api
