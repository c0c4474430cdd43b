#include "daemon/init_command.hpp"

#include <spdlog/spdlog.h>

#include "plugin/registry.hpp"
#include "storage/storage.hpp"

namespace kleene::daemon {

int run_init(const config::DaemonConfig& config, bool dry_run, std::ostream& out,
             std::ostream& err) {
  // The steps are the output; plugin loading chatter would only bury them.
  spdlog::set_level(spdlog::level::warn);
  plugin::Registry plugins(plugin::HostOptions{.plugin_config = config.plugins,
                                               .command_timeout = config.plugin_command_timeout});
  plugins.load_directories(config.plugin_dirs);
  auto storage = storage::Storage::open(plugins, config);
  if (!storage) {
    err << "kleened init: " << storage.error().message << "\n";
    return 1;
  }
  auto steps = (*storage)->init({.create_pool = true, .dry_run = dry_run});
  if (!steps) {
    err << "kleened init: " << steps.error().message << "\n";
    return 1;
  }
  for (const auto& step : *steps) {
    const bool planned = dry_run && step.value("change", false);
    out << (planned ? "would " : "") << step.value("action", std::string()) << "\n";
  }
  out.flush();
  return 0;
}

}  // namespace kleene::daemon
