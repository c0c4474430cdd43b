// GET /plugins/list (an extension of ours): the loaded plugins, sorted by kind then name.
#include "api/context.hpp"
#include "api/router.hpp"
#include "plugin/registry.hpp"

namespace kleene::api {

void register_plugin_routes(Router& router, ApiContext& context) {
  plugin::Registry* registry = context.plugins;
  router.get("/plugins/list", [registry](const Request&) {
    nlohmann::json list = nlohmann::json::array();
    if (registry != nullptr)
      for (const auto& info : registry->list())
        list.push_back(plugin::to_json(info));
    return Response::json(200, list);
  });
}

}  // namespace kleene::api
