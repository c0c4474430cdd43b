#include "plugin/host_services.hpp"

#include <cerrno>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

#include "util/process.hpp"

namespace kleene::plugin::detail {
namespace {

spdlog::level::level_enum to_spdlog(kleene_log_level level) {
  switch (level) {
    case KLEENE_LOG_DEBUG:
      return spdlog::level::debug;
    case KLEENE_LOG_INFO:
      return spdlog::level::info;
    case KLEENE_LOG_WARN:
      return spdlog::level::warn;
    case KLEENE_LOG_ERROR:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

void append(kleene_buffer* buffer, std::string_view text) noexcept {
  if (buffer != nullptr && buffer->append != nullptr && !text.empty()) {
    buffer->append(buffer, text.data(), text.size());
  }
}

kleene_status status_for_errno(int code) {
  switch (code) {
    case EINVAL:
      return KLEENE_E_INVALID;
    case ENOENT:
      return KLEENE_E_NOT_FOUND;
    case EEXIST:
      return KLEENE_E_EXISTS;
    case EBUSY:
      return KLEENE_E_BUSY;
    case ENOTSUP:
      return KLEENE_E_UNSUPPORTED;
    default:
      return KLEENE_E_FAILED;
  }
}

void log_service(void* host_ctx, kleene_log_level level, const char* message) noexcept {
  try {
    const auto* self = static_cast<const HostServices*>(host_ctx);
    spdlog::default_logger_raw()->log(to_spdlog(level), "[plugin {}] {}", self->plugin_name(),
                                      message != nullptr ? message : "");
  } catch (...) {  // logging must never unwind into the plugin
  }
}

int run_command_service(void* host_ctx, const char* const* argv, const char* const* envp,
                        const char* stdin_data, size_t stdin_len, kleene_buffer* out,
                        kleene_buffer* err, int* exit_code) noexcept {
  try {
    const auto* self = static_cast<const HostServices*>(host_ctx);
    if (argv == nullptr || argv[0] == nullptr) {
      append(err, "run_command: argv is empty");
      return KLEENE_E_INVALID;
    }
    ProcessSpec spec;
    for (auto* arg = argv; *arg != nullptr; ++arg)
      spec.argv.emplace_back(*arg);
    if (envp != nullptr && envp[0] != nullptr) {
      spec.env.emplace();
      for (auto* var = envp; *var != nullptr; ++var)
        spec.env->emplace_back(*var);
    }
    if (stdin_data != nullptr) spec.stdin_data.assign(stdin_data, stdin_len);
    spdlog::debug("[plugin {}] run {}", self->plugin_name(), spec.argv.front());

    if (self->command_timeout().count() > 0) spec.timeout = self->command_timeout();
    auto result = run_process(spec);
    if (!result && result.error().code == ETIMEDOUT) {
      const auto seconds = std::chrono::duration<double>(self->command_timeout()).count();
      append(err, fmt::format("{} did not finish within {:g} s and was stopped", spec.argv.front(),
                              seconds));
      return KLEENE_E_FAILED;
    }
    if (!result) {
      append(err, result.error().message);
      return status_for_errno(result.error().code);
    }
    if (exit_code != nullptr) *exit_code = result->exit_code;
    append(out, result->out);
    append(err, result->err);
    return KLEENE_OK;
  } catch (...) {
    append(err, "run_command: out of memory");
    return KLEENE_E_FAILED;
  }
}

int engine_call_service(void* host_ctx, const char* op, const char* request_json,
                        kleene_buffer* response, kleene_buffer* error) noexcept {
  try {
    const auto* self = static_cast<const HostServices*>(host_ctx);
    if (op == nullptr || request_json == nullptr) {
      append(error, "engine_call: op and request are required");
      return KLEENE_E_INVALID;
    }
    const auto handler = self->engine();
    if (!handler) {
      append(error, std::string("engine_call: the host offers no engine operations (") + op + ")");
      return KLEENE_E_UNSUPPORTED;
    }
    auto request = nlohmann::json::parse(request_json, nullptr, false);
    if (request.is_discarded()) {
      append(error, std::string("engine_call ") + op + ": the request is not valid JSON");
      return KLEENE_E_INVALID;
    }
    auto result = handler(op, request);
    if (!result) {
      append(error, result.error().message);
      return status_for_errno(result.error().code);
    }
    append(response, result->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    return KLEENE_OK;
  } catch (const std::exception& e) {
    append(error, std::string("engine_call: ") + e.what());
    return KLEENE_E_FAILED;
  } catch (...) {
    append(error, "engine_call failed");
    return KLEENE_E_FAILED;
  }
}

}  // namespace

HostServices::HostServices(std::string plugin_name, std::shared_ptr<EngineSlot> engine)
    : plugin_name_(std::move(plugin_name)), engine_(std::move(engine)) {
  table_ = kleene_host_services{};
  table_.abi_major = KLEENE_PLUGIN_ABI_MAJOR;
  table_.abi_minor = KLEENE_PLUGIN_ABI_MINOR;
  table_.struct_size = sizeof(kleene_host_services);
  table_.host_ctx = this;
  table_.log = &log_service;
  table_.run_command = &run_command_service;
  table_.engine_call = &engine_call_service;
}

}  // namespace kleene::plugin::detail
