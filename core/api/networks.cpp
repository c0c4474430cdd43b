// /networks/*: Kleene's network routes.
#include "api/context.hpp"
#include "api/stubs.hpp"

namespace kleene::api {

void register_network_routes(Router& router, ApiContext&) {
  router.post("/networks/connect", not_implemented_handler, kJsonBody);
  router.post("/networks/create", not_implemented_handler, kJsonBody);
  router.get("/networks/list", not_implemented_handler);
  router.post("/networks/prune", not_implemented_handler);
  router.del("/networks/{network_id}", not_implemented_handler);
  router.post("/networks/{network_id}/disconnect/{container_id}", not_implemented_handler);
  router.get("/networks/{network_id}/inspect", not_implemented_handler);
}

}  // namespace kleene::api
