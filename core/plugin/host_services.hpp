// The host services table kleened hands each plugin: logging tagged with the plugin's name and
// running host commands through kleene::run_process.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "kleene/plugin/abi.h"
#include "plugin/registry.hpp"

namespace kleene::plugin::detail {

// The engine handler every plugin's engine_call reaches; the registry owns one and shares it.
class EngineSlot {
 public:
  void set(EngineHandler handler) {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
  }
  EngineHandler get() const {
    std::lock_guard lock(mutex_);
    return handler_;
  }

 private:
  mutable std::mutex mutex_;
  EngineHandler handler_;
};

class HostServices {
 public:
  HostServices(std::string plugin_name, std::shared_ptr<EngineSlot> engine = nullptr);
  // The table's host_ctx points at this object, so it stays where it was made.
  HostServices(const HostServices&) = delete;
  HostServices& operator=(const HostServices&) = delete;

  const kleene_host_services* table() const noexcept { return &table_; }
  const std::string& plugin_name() const noexcept { return plugin_name_; }
  // run_command stops a command (its process group, SIGKILL) after this long; 0: never.
  void set_command_timeout(std::chrono::milliseconds timeout) noexcept { timeout_ = timeout; }
  std::chrono::milliseconds command_timeout() const noexcept { return timeout_; }
  void set_engine(std::shared_ptr<EngineSlot> engine) { engine_ = std::move(engine); }
  EngineHandler engine() const { return engine_ ? engine_->get() : EngineHandler{}; }

 private:
  std::string plugin_name_;
  std::chrono::milliseconds timeout_{0};
  std::shared_ptr<EngineSlot> engine_;
  kleene_host_services table_;
};

}  // namespace kleene::plugin::detail
