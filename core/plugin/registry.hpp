// The plugin host: loads plugin shared objects with Boost.DLL, checks their descriptors, and
// gives the rest of the core a C++ face for calling them. Implemented in core/plugin/.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "kleene/plugin/abi.h"
#include "util/error.hpp"

namespace kleene::plugin {

enum class Kind { network, storage, builder };
std::string_view to_string(Kind kind);

struct PluginInfo {
  std::string name;
  Kind kind;
  std::string version;
  std::string description;
  uint32_t abi_major = 0;
  uint32_t abi_minor = 0;
  uint64_t capabilities = 0;
  std::vector<std::string> capability_names;  // e.g. "connect_while_running", "ipv6"
  std::filesystem::path path;
};
nlohmann::json to_json(const PluginInfo& info);  // the shape of GET /plugins/list entries

// A plugin file that was not loaded, and why (one line, also logged).
struct Refusal {
  std::filesystem::path path;
  std::string reason;
};

class LoadedPlugin {
 public:
  virtual ~LoadedPlugin() = default;
  virtual const PluginInfo& info() const = 0;
  // Whether the plugin's ops table contains and sets the operation (by ABI field name, e.g.
  // "create_network", "clone", "build").
  virtual bool supports(std::string_view op) const = 0;
  // Call an operation. A missing operation is ENOSYS "<plugin>: <op> is not supported ...";
  // a plugin error maps kleene_status to errno (NOT_FOUND->ENOENT, INVALID->EINVAL,
  // EXISTS->EEXIST, BUSY->EBUSY, NOT_IMPLEMENTED->ENOSYS, UNSUPPORTED->ENOTSUP, else EIO).
  virtual Result<nlohmann::json> call(std::string_view op, const nlohmann::json& request) = 0;
};

// What plugins may ask of the engine through the host service engine_call (ABI 1.1): kleened
// sets it once its services exist. Until then, and in tools without an engine, every call fails
// with KLEENE_E_UNSUPPORTED. The handler's error codes map to statuses as errno does (EINVAL
// invalid, ENOENT not found, EEXIST exists, EBUSY busy, ENOTSUP unsupported, others failed).
using EngineHandler =
    std::function<Result<nlohmann::json>(std::string_view op, const nlohmann::json& request)>;

struct HostOptions {
  // Plugin-specific configuration by plugin name, passed to create() (default "{}").
  nlohmann::json plugin_config = nlohmann::json::object();
  // How long a host command a plugin runs (run_command) may take before it is stopped; 0: no
  // limit. Guards kleened against a wedged tool (e.g. a hanging zfs-fuse).
  std::chrono::milliseconds command_timeout{0};
};

class Registry {
 public:
  explicit Registry(HostOptions options = {});
  ~Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Load every *.so in each directory (sorted by file name; missing directories are logged
  // and skipped). Refusals are logged as one line each and kept in refusals().
  void load_directories(const std::vector<std::filesystem::path>& dirs);
  // Load one file; on refusal returns the reason (and records it).
  Result<void> load_file(const std::filesystem::path& path);

  std::vector<PluginInfo> list() const;
  const std::vector<Refusal>& refusals() const;
  // nullptr if there is no loaded plugin of that name (and kind).
  LoadedPlugin* find(std::string_view name) const;
  LoadedPlugin* find(std::string_view name, Kind kind) const;
  // The handler of engine_call for every plugin, loaded or still to be loaded ({} unsets it).
  void set_engine(EngineHandler handler);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kleene::plugin
