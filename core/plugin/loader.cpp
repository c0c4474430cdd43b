#include "plugin/loader.hpp"

#include <dlfcn.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <boost/dll/shared_library.hpp>

#include "plugin/abi_tables.hpp"

namespace kleene::plugin::detail {
namespace {

constexpr std::size_t kMaxNameLength = 64;

bool valid_name(const char* name) {
  if (name == nullptr) return false;
  const std::size_t length = std::strlen(name);
  if (length == 0 || length > kMaxNameLength) return false;
  for (const char* c = name; *c != '\0'; ++c) {
    const bool ok = (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<std::shared_ptr<boost::dll::shared_library>> open_library(
    const std::filesystem::path& path) {
  auto library = std::make_shared<boost::dll::shared_library>();
  std::error_code ec;
  // RTLD_NOW: an unresolved symbol refuses the plugin now, not crashes kleened later.
  // RTLD_LOCAL: plugins' symbols never interpose on each other or on the core.
  library->load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local, ec);
  if (ec) {
    // Boost.DLL keeps only a generic error code; dlerror() still holds the loader's reason.
    const char* reason = dlerror();
    return make_error(ENOEXEC, std::string("cannot load: ") + (reason ? reason : ec.message()));
  }
  return library;
}

// Copies the plugin's ops table into a zero-filled host-sized one after checking its size.
Result<uint32_t> copy_ops(const kleene_plugin_descriptor& descriptor, Kind kind, OpsCopy& ops) {
  const void* plugin_ops = descriptor.ops;
  uint32_t size = 0;
  std::memcpy(&size, plugin_ops, sizeof size);  // every ops struct starts with struct_size
  const std::size_t known = ops_struct_size(kind);
  if (size > known) {
    return make_error(EPROTO, fmt::format("{} ops table struct_size {} is larger than the {} "
                                          "bytes kleened knows: built against a newer ABI minor "
                                          "(plugin ABI {}.{}, kleened {}.{})",
                                          to_string(kind), size, known, descriptor.abi_major,
                                          descriptor.abi_minor, KLEENE_PLUGIN_ABI_MAJOR,
                                          KLEENE_PLUGIN_ABI_MINOR));
  }
  if (size < kMinOpsSize) {
    return make_error(EPROTO, fmt::format("{} ops table struct_size {} is too small (minimum {})",
                                          to_string(kind), size, kMinOpsSize));
  }
  std::memset(&ops, 0, sizeof ops);
  std::memcpy(&ops, plugin_ops, size);
  return size;
}

Result<kleene_plugin_descriptor> copy_descriptor(const kleene_plugin_descriptor* plugin) {
  if (plugin->abi_major != KLEENE_PLUGIN_ABI_MAJOR) {
    return make_error(EPROTO, fmt::format("built for plugin ABI {}.x, kleened supports {}.x",
                                          plugin->abi_major, KLEENE_PLUGIN_ABI_MAJOR));
  }
  if (plugin->struct_size > sizeof(kleene_plugin_descriptor)) {
    return make_error(EPROTO, fmt::format("descriptor struct_size {} is larger than the {} bytes "
                                          "kleened knows: built against a newer ABI minor "
                                          "(plugin ABI {}.{}, kleened {}.{})",
                                          plugin->struct_size, sizeof(kleene_plugin_descriptor),
                                          plugin->abi_major, plugin->abi_minor,
                                          KLEENE_PLUGIN_ABI_MAJOR, KLEENE_PLUGIN_ABI_MINOR));
  }
  if (plugin->struct_size < kMinDescriptorSize) {
    return make_error(EPROTO, fmt::format("descriptor struct_size {} is too small (minimum {})",
                                          plugin->struct_size, kMinDescriptorSize));
  }
  kleene_plugin_descriptor descriptor;
  std::memset(&descriptor, 0, sizeof descriptor);
  std::memcpy(&descriptor, plugin, plugin->struct_size);
  return descriptor;
}

Result<PluginInfo> describe(const kleene_plugin_descriptor& descriptor,
                            const std::filesystem::path& path) {
  const auto kind = kind_from_abi(descriptor.kind);
  if (!kind) return make_error(EINVAL, fmt::format("unknown plugin kind {}", descriptor.kind));
  if (!valid_name(descriptor.name)) {
    return make_error(EINVAL, "missing or invalid name (want 1-64 characters of [a-z0-9_-])");
  }
  if (descriptor.create == nullptr || descriptor.destroy == nullptr) {
    return make_error(EINVAL, "descriptor lacks create or destroy");
  }
  if (descriptor.ops == nullptr) return make_error(EINVAL, "descriptor has no ops table");

  PluginInfo info;
  info.name = descriptor.name;
  info.kind = *kind;
  info.version = descriptor.version != nullptr ? descriptor.version : "";
  info.description = descriptor.description != nullptr ? descriptor.description : "";
  info.abi_major = descriptor.abi_major;
  info.abi_minor = descriptor.abi_minor;
  info.capabilities = descriptor.capabilities;
  info.capability_names = capability_names(descriptor.capabilities);
  info.path = path;
  return info;
}

}  // namespace

Result<std::unique_ptr<PluginInstance>> open_plugin(const std::filesystem::path& path) {
  auto library = TRY(open_library(path));
  if (!library->has(KLEENE_PLUGIN_ENTRY_SYMBOL)) {
    return make_error(ENOEXEC,
                      "no entry point " KLEENE_PLUGIN_ENTRY_SYMBOL " (not a kleene plugin)");
  }
  auto& entry = library->get<const kleene_plugin_descriptor*()>(KLEENE_PLUGIN_ENTRY_SYMBOL);
  const kleene_plugin_descriptor* plugin_descriptor = entry();
  if (plugin_descriptor == nullptr) return make_error(EINVAL, "entry point returned NULL");

  const kleene_plugin_descriptor descriptor = TRY(copy_descriptor(plugin_descriptor));
  PluginInfo info = TRY(describe(descriptor, path));
  OpsCopy ops;
  const uint32_t ops_size = TRY(copy_ops(descriptor, info.kind, ops));
  return std::make_unique<PluginInstance>(std::move(library), std::move(info), descriptor, ops,
                                          ops_size);
}

}  // namespace kleene::plugin::detail
