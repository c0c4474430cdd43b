// The host services table kleened hands each plugin: logging tagged with the plugin's name and
// running host commands through kleene::run_process.
#pragma once

#include <string>

#include "kleene/plugin/abi.h"

namespace kleene::plugin::detail {

class HostServices {
 public:
  explicit HostServices(std::string plugin_name);
  // The table's host_ctx points at this object, so it stays where it was made.
  HostServices(const HostServices&) = delete;
  HostServices& operator=(const HostServices&) = delete;

  const kleene_host_services* table() const noexcept { return &table_; }
  const std::string& plugin_name() const noexcept { return plugin_name_; }

 private:
  std::string plugin_name_;
  kleene_host_services table_;
};

}  // namespace kleene::plugin::detail
