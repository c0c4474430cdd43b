#include "api/context.hpp"

namespace kleene::api {

void register_routes(Router& router, ApiContext& context) {
  register_container_routes(router, context);
  register_exec_routes(router, context);
  register_image_routes(router, context);
  register_network_routes(router, context);
  register_volume_routes(router, context);
  register_system_routes(router, context);
  register_plugin_routes(router, context);
}

}  // namespace kleene::api
