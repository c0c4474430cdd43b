// The host services table kleened hands each plugin: logging tagged with the plugin's name and
// running host commands through kleene::run_process.
#pragma once

#include <chrono>
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
  // run_command stops a command (its process group, SIGKILL) after this long; 0: never.
  void set_command_timeout(std::chrono::milliseconds timeout) noexcept { timeout_ = timeout; }
  std::chrono::milliseconds command_timeout() const noexcept { return timeout_; }

 private:
  std::string plugin_name_;
  std::chrono::milliseconds timeout_{0};
  kleene_host_services table_;
};

}  // namespace kleene::plugin::detail
