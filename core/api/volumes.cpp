// /volumes/*: Kleene's volume routes.
#include "api/context.hpp"
#include "api/stubs.hpp"

namespace kleene::api {

void register_volume_routes(Router& router, ApiContext&) {
  router.post("/volumes/create", not_implemented_handler, kJsonBody);
  router.get("/volumes/list", not_implemented_handler);
  router.post("/volumes/prune", not_implemented_handler);
  router.del("/volumes/{volume_name}", not_implemented_handler);
  router.get("/volumes/{volume_name}/inspect", not_implemented_handler);
}

}  // namespace kleene::api
