// kleene_plugin_check: loads plugin files or directories with kleened's own loader and prints
// what `GET /plugins/list` would answer. Exits 1 if anything was refused. A test tool, e.g. for
// checking an out-of-tree plugin (examples/net-example) without a running kleened:
//   kleene_plugin_check [--config '{"example":{"mtu":9000}}'] PATH...
//                       [--call PLUGIN OP REQUEST_JSON]...  (prints each answer, or fails)
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "plugin/registry.hpp"

int main(int argc, char** argv) {
  kleene::plugin::HostOptions options;
  std::vector<std::filesystem::path> paths;
  struct Call {
    std::string plugin, op, request;
  };
  std::vector<Call> calls;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) {
      options.plugin_config = nlohmann::json::parse(argv[++i], nullptr, false);
      if (!options.plugin_config.is_object()) {
        std::cerr << "kleene_plugin_check: --config wants a JSON object\n";
        return 2;
      }
    } else if (arg == "--call" && i + 3 < argc) {
      calls.push_back({argv[i + 1], argv[i + 2], argv[i + 3]});
      i += 3;
    } else {
      paths.emplace_back(arg);
    }
  }
  if (paths.empty()) {
    std::cerr << "usage: kleene_plugin_check [--config JSON] PLUGIN.so|DIR...\n";
    return 2;
  }

  kleene::plugin::Registry registry(options);
  for (const auto& path : paths) {
    if (std::filesystem::is_directory(path)) {
      registry.load_directories({path});
    } else {
      (void)registry.load_file(path);  // refusals are logged and recorded
    }
  }
  auto list = nlohmann::json::array();
  for (const auto& info : registry.list())
    list.push_back(kleene::plugin::to_json(info));
  std::cout << list.dump(2) << '\n';
  bool ok = registry.refusals().empty();
  for (const auto& call : calls) {
    auto* plugin = registry.find(call.plugin);
    auto request = nlohmann::json::parse(call.request, nullptr, false);
    if (plugin == nullptr || request.is_discarded()) {
      std::cerr << call.plugin << " " << call.op << ": no such plugin or invalid JSON\n";
      ok = false;
      continue;
    }
    auto result = plugin->call(call.op, request);
    if (result) {
      std::cout << call.plugin << " " << call.op << ": " << result->dump() << '\n';
    } else {
      std::cout << call.plugin << " " << call.op << ": error " << result.error().code << ": "
                << result.error().message << '\n';
      ok = false;
    }
  }
  return ok ? 0 : 1;
}
