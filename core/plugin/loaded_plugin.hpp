// One loaded plugin: the host-sized copies of its descriptor and ops table, its instance, and
// the library it lives in.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kleene/plugin/abi.h"
#include "plugin/host_services.hpp"
#include "plugin/registry.hpp"
#include "util/error.hpp"

namespace kleene::plugin::detail {

// The ops tables of every kind, so one zero-filled object holds whichever the plugin has.
union OpsCopy {
  kleene_network_ops network;
  kleene_storage_ops storage;
  kleene_builder_ops builder;
};

class PluginInstance final : public LoadedPlugin {
 public:
  // `library` keeps the shared object mapped; it is released after the instance is destroyed.
  // `descriptor` and `ops` are zero-filled host-sized copies; `plugin_ops_size` is the
  // struct_size the plugin declared for its ops table.
  PluginInstance(std::shared_ptr<void> library, PluginInfo info,
                 const kleene_plugin_descriptor& descriptor, const OpsCopy& ops,
                 uint32_t plugin_ops_size);
  ~PluginInstance() override;
  PluginInstance(const PluginInstance&) = delete;
  PluginInstance& operator=(const PluginInstance&) = delete;

  // Calls the plugin's create() with its config; the plugin is usable only after this.
  Result<void> create(const nlohmann::json& config);
  void set_engine(std::shared_ptr<EngineSlot> engine) { host_.set_engine(std::move(engine)); }
  void set_command_timeout(std::chrono::milliseconds timeout) {
    host_.set_command_timeout(timeout);
  }

  const PluginInfo& info() const override { return info_; }
  bool supports(std::string_view op) const override;
  Result<nlohmann::json> call(std::string_view op, const nlohmann::json& request) override;

 private:
  kleene_op_fn find_op(std::string_view op) const;

  std::shared_ptr<void> library_;  // first member: destroyed last
  PluginInfo info_;
  kleene_plugin_descriptor descriptor_;
  OpsCopy ops_;
  uint32_t plugin_ops_size_;
  HostServices host_;
  void* instance_ = nullptr;
};

}  // namespace kleene::plugin::detail
