// /containers/*: Kleene's container routes.
#include "api/context.hpp"
#include "api/stubs.hpp"

namespace kleene::api {

void register_container_routes(Router& router, ApiContext&) {
  router.post("/containers/create", not_implemented_handler, kJsonBody);
  router.get("/containers/list", not_implemented_handler);
  router.post("/containers/prune", not_implemented_handler);
  router.del("/containers/{container_id}", not_implemented_handler);
  router.get("/containers/{container_id}/inspect", not_implemented_handler);
  router.post("/containers/{container_id}/stop", not_implemented_handler);
  router.post("/containers/{container_id}/update", not_implemented_handler, kJsonBody);
}

}  // namespace kleene::api
