// The container layer's view of the runtime and the jail-parameter parser.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/runtime.hpp"
#include "util/error.hpp"

namespace kleene::container {

class RuntimePort {
 public:
  virtual ~RuntimePort() = default;
  // `before_run`: see runtime::BeforeRun (the network endpoints are attached there).
  virtual Result<runtime::ContainerState> start(const runtime::ContainerSpec& spec,
                                                const runtime::BeforeRun& before_run = {}) = 0;
  virtual Result<std::unique_ptr<runtime::Execution>> exec(const std::string& container_id,
                                                           const runtime::ProcessSpec& process,
                                                           bool attach) = 0;
  virtual Result<void> stop_exec(const std::string& container_id, const std::string& exec_id,
                                 bool force) = 0;
  virtual Result<void> stop(const std::string& container_id, std::chrono::milliseconds timeout) = 0;
  virtual std::optional<runtime::ContainerState> state(const std::string& container_id) = 0;
  virtual std::vector<runtime::ContainerState> adopt() = 0;
  virtual Result<void> update(const std::string& container_id,
                              const runtime::JailParams& params) = 0;
};

// Over `runtime`; with nullptr every call fails with "the container runtime is not available".
std::unique_ptr<RuntimePort> make_runtime_port(runtime::Runtime* runtime);

// runtime::parse_jail_params and params_needing_restart.
Result<runtime::JailParams> parse_params(const std::vector<std::string>& params);
std::vector<std::string> restart_needed(const runtime::JailParams& a, const runtime::JailParams& b);

}  // namespace kleene::container
