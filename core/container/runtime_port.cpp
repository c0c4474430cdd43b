// RuntimePort over the real runtime (kleene_runtime) and the real parser (kleene_sandbox).
#include "container/runtime_port.hpp"

#include "runtime/jail_params.hpp"

namespace kleene::container {

namespace {

std::unexpected<Error> unavailable() {
  return make_error(ENOSYS, "the container runtime is not available");
}

class RealPort final : public RuntimePort {
 public:
  explicit RealPort(runtime::Runtime* runtime) : runtime_(runtime) {}

  Result<runtime::ContainerState> start(const runtime::ContainerSpec& spec,
                                        const runtime::BeforeRun& before_run) override {
    if (runtime_ == nullptr) return unavailable();
    return runtime_->start(spec, before_run);
  }
  Result<std::unique_ptr<runtime::Execution>> exec(const std::string& container_id,
                                                   const runtime::ProcessSpec& process,
                                                   bool attach) override {
    if (runtime_ == nullptr) return unavailable();
    return runtime_->exec(container_id, process, attach);
  }
  Result<void> stop_exec(const std::string& container_id, const std::string& exec_id,
                         bool force) override {
    if (runtime_ == nullptr) return unavailable();
    return runtime_->stop_exec(container_id, exec_id, force);
  }
  Result<void> stop(const std::string& container_id, std::chrono::milliseconds timeout) override {
    if (runtime_ == nullptr) return unavailable();
    return runtime_->stop(container_id, timeout);
  }
  std::optional<runtime::ContainerState> state(const std::string& container_id) override {
    if (runtime_ == nullptr) return std::nullopt;
    return runtime_->state(container_id);
  }
  std::vector<runtime::ContainerState> adopt() override {
    if (runtime_ == nullptr) return {};
    return runtime_->adopt();
  }
  Result<void> update(const std::string& container_id, const runtime::JailParams& params) override {
    if (runtime_ == nullptr) return unavailable();
    return runtime_->update(container_id, params);
  }

 private:
  runtime::Runtime* runtime_;
};

}  // namespace

std::unique_ptr<RuntimePort> make_runtime_port(runtime::Runtime* runtime) {
  return std::make_unique<RealPort>(runtime);
}

Result<runtime::JailParams> parse_params(const std::vector<std::string>& params) {
  return runtime::parse_jail_params(params);
}

std::vector<std::string> restart_needed(const runtime::JailParams& a,
                                        const runtime::JailParams& b) {
  return runtime::params_needing_restart(a, b);
}

}  // namespace kleene::container
