#include "plugin/loaded_plugin.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "plugin/abi_tables.hpp"
#include "plugin/host_buffer.hpp"

namespace kleene::plugin::detail {
namespace {

int errno_for_status(int status) {
  switch (status) {
    case KLEENE_E_NOT_FOUND:
      return ENOENT;
    case KLEENE_E_INVALID:
      return EINVAL;
    case KLEENE_E_EXISTS:
      return EEXIST;
    case KLEENE_E_BUSY:
      return EBUSY;
    case KLEENE_E_NOT_IMPLEMENTED:
      return ENOSYS;
    case KLEENE_E_UNSUPPORTED:
      return ENOTSUP;
    default:
      return EIO;
  }
}

// "<plugin>: <message>", or a generic message when the plugin gave none.
Error plugin_error(const PluginInfo& info, std::string_view what, int status,
                   const HostBuffer& error) {
  std::string message = error.data();
  if (message.empty())
    message = std::string(what) + " failed with status " + std::to_string(status);
  return Error{errno_for_status(status), info.name + ": " + message};
}

}  // namespace

PluginInstance::PluginInstance(std::shared_ptr<void> library, PluginInfo info,
                               const kleene_plugin_descriptor& descriptor, const OpsCopy& ops,
                               uint32_t plugin_ops_size)
    : library_(std::move(library)),
      info_(std::move(info)),
      descriptor_(descriptor),
      ops_(ops),
      plugin_ops_size_(plugin_ops_size),
      host_(info_.name) {}

PluginInstance::~PluginInstance() {
  if (instance_ != nullptr) descriptor_.destroy(instance_);
}

Result<void> PluginInstance::create(const nlohmann::json& config) {
  HostBuffer error;
  void* instance = nullptr;
  const std::string config_json =
      config.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const int status = descriptor_.create(host_.table(), config_json.c_str(), &instance, error.get());
  if (status != KLEENE_OK) return std::unexpected(plugin_error(info_, "create", status, error));
  if (instance == nullptr) return make_error(EINVAL, info_.name + ": create returned no instance");
  instance_ = instance;
  return {};
}

kleene_op_fn PluginInstance::find_op(std::string_view op) const {
  for (const OpField& field : op_fields(info_.kind)) {
    if (field.name != op) continue;
    // The SQLite iVersion rule: never read past what the plugin's ops struct declared.
    if (field.offset + sizeof(kleene_op_fn) > plugin_ops_size_) return nullptr;
    kleene_op_fn fn = nullptr;
    std::memcpy(&fn, reinterpret_cast<const char*>(&ops_) + field.offset, sizeof fn);
    return fn;
  }
  return nullptr;
}

bool PluginInstance::supports(std::string_view op) const {
  return find_op(op) != nullptr;
}

Result<nlohmann::json> PluginInstance::call(std::string_view op, const nlohmann::json& request) {
  kleene_op_fn fn = find_op(op);
  if (fn == nullptr) {
    return make_error(ENOSYS, info_.name + ": " + std::string(op) + " is not supported by this " +
                                  std::string(to_string(info_.kind)) + " plugin");
  }
  if (instance_ == nullptr) return make_error(EIO, info_.name + ": plugin has no instance");

  HostBuffer response;
  HostBuffer error;
  const std::string request_json =
      request.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  const int status = fn(instance_, request_json.c_str(), response.get(), error.get());
  if (status != KLEENE_OK) return std::unexpected(plugin_error(info_, op, status, error));
  if (response.overflowed()) {
    return make_error(EMSGSIZE, info_.name + ": " + std::string(op) + ": response larger than " +
                                    std::to_string(kMaxPluginOutput) + " bytes");
  }
  if (response.data().empty()) return nlohmann::json();
  auto result = nlohmann::json::parse(response.data(), nullptr, /*allow_exceptions=*/false);
  if (result.is_discarded()) {
    return make_error(EIO, info_.name + ": " + std::string(op) + " returned invalid JSON");
  }
  return result;
}

}  // namespace kleene::plugin::detail
