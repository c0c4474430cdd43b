// What route handlers reach: the daemon's config, plugins, metadata store and storage. Pointers may
// be null in tests that do not need them.
#pragma once

#include <string>

namespace kleene::store {
class Store;
}
namespace kleene::plugin {
class Registry;
}
namespace kleene::config {
struct DaemonConfig;
}
namespace kleene::storage {
class Storage;
}

namespace kleene::api {

class Router;

struct ApiContext {
  const config::DaemonConfig* config = nullptr;
  plugin::Registry* plugins = nullptr;
  store::Store* store = nullptr;
  // null when no storage plugin is loaded; handlers then answer 500 naming the problem.
  storage::Storage* storage = nullptr;
  // Why storage is null (e.g. "pool zroot is missing"); handlers answer 500
  // "storage is not ready: <storage_error>; run 'kleened init'". Empty when storage is set.
  std::string storage_error;
};

// One per resource file (core/api/<resource>.cpp); later issues replace the stubs.
void register_container_routes(Router& router, ApiContext& context);
void register_exec_routes(Router& router, ApiContext& context);
void register_image_routes(Router& router, ApiContext& context);
void register_network_routes(Router& router, ApiContext& context);
void register_volume_routes(Router& router, ApiContext& context);
void register_system_routes(Router& router, ApiContext& context);  // GET /version
void register_plugin_routes(Router& router, ApiContext& context);  // GET /plugins/list

// All of the above.
void register_routes(Router& router, ApiContext& context);

}  // namespace kleene::api
