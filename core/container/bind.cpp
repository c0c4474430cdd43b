#include "container/bind.hpp"

#include "config/config.hpp"
#include "plugin/registry.hpp"

namespace kleene::container {

Result<std::unique_ptr<BoundEnv>> bind(const api::ApiContext& context, storage::Storage* storage) {
  if (context.store == nullptr) return make_error(EAGAIN, "metadata store is not available");
  if (storage == nullptr && context.storage != nullptr) storage = context.storage->get();
  if (storage == nullptr) return make_error(EAGAIN, "storage is not ready");
  auto bound = std::make_unique<BoundEnv>();
  bound->port = make_runtime_port(context.runtime);
  bound->env.emplace(Env{*context.store, *storage, *bound->port, {}, {}});
  if (context.config != nullptr) {
    bound->env->stop_timeout = context.config->stop_timeout;
    bound->env->ip_forwarding = context.config->ip_forwarding;
    bound->env->max_mounted_containers = context.config->max_mounted_containers;
  }
  bound->env->plugins = context.plugins;
  if (context.plugins != nullptr) {
    for (const auto& info : context.plugins->list())
      if (info.kind == plugin::Kind::network) bound->env->network_plugins.push_back(info.name);
  }
  return bound;
}

}  // namespace kleene::container
