#include "storage/storage.hpp"

#include "config/config.hpp"
#include "plugin/registry.hpp"

namespace kleene::storage {
namespace {

using nlohmann::json;

Result<std::vector<std::string>> strings_of(const json& response, const char* key) {
  if (!response.is_object() || !response.contains(key) || !response.at(key).is_array())
    return make_error(EIO, std::string("storage plugin: response without '") + key + "'");
  std::vector<std::string> result;
  for (const auto& item : response.at(key)) {
    if (!item.is_string())
      return make_error(EIO, std::string("storage plugin: '") + key + "' holds a non-string");
    result.push_back(item.get<std::string>());
  }
  return result;
}

}  // namespace

Result<std::unique_ptr<Storage>> Storage::open(plugin::Registry& plugins,
                                               const config::DaemonConfig& config) {
  plugin::LoadedPlugin* plugin = plugins.find(config.storage_driver, plugin::Kind::storage);
  if (plugin == nullptr) {
    std::string message = "storage plugin '" + config.storage_driver + "' is not loaded";
    // A plugin refused at create() (e.g. a bad setting) names itself in the reason.
    for (const auto& refusal : plugins.refusals()) {
      if (refusal.reason.find(config.storage_driver + ": ") != std::string::npos)
        message += " (" + refusal.path.filename().string() + ": " + refusal.reason + ")";
    }
    return make_error(ENOENT, message);
  }
  return std::make_unique<Storage>(*plugin, config.kleene_root);
}

Storage::Storage(plugin::LoadedPlugin& plugin, std::string root)
    : plugin_(plugin), layout_(std::move(root)) {}

Result<json> Storage::call(std::string_view op, const json& request) {
  return plugin_.call(op, request);
}

Result<json> Storage::init(const InitOptions& options) {
  const json response = TRY(call("init", {{"root", layout_.root()},
                                          {"create_pool", options.create_pool},
                                          {"dry_run", options.dry_run}}));
  if (!response.is_object() || !response.contains("steps") || !response.at("steps").is_array())
    return make_error(EIO, "storage plugin: init returned no steps");
  return response.at("steps");
}

Result<void> Storage::create_dataset(const std::string& name) {
  TRY(call("create_dataset", {{"name", name}}));
  return {};
}

Result<void> Storage::destroy(const std::string& name, bool recursive) {
  TRY(call("destroy", {{"name", name}, {"recursive", recursive}}));
  return {};
}

Result<void> Storage::snapshot(const std::string& snapshot) {
  TRY(call("snapshot", {{"name", snapshot}}));
  return {};
}

Result<void> Storage::clone(const std::string& snapshot, const std::string& target) {
  TRY(call("clone", {{"snapshot", snapshot}, {"target", target}}));
  return {};
}

Result<void> Storage::rename(const std::string& from, const std::string& to) {
  TRY(call("rename", {{"from", from}, {"to", to}}));
  return {};
}

Result<std::vector<std::string>> Storage::list_snapshots(const std::string& dataset) {
  return strings_of(TRY(call("list_snapshots", {{"dataset", dataset}})), "snapshots");
}

Result<std::vector<std::string>> Storage::list_clones(const std::string& snapshot) {
  return strings_of(TRY(call("list_clones", {{"snapshot", snapshot}})), "clones");
}

Result<std::vector<std::string>> Storage::list_datasets(const std::string& dataset) {
  return strings_of(TRY(call("list_datasets", {{"dataset", dataset}})), "datasets");
}

Result<std::vector<std::string>> Storage::mounted_below(const std::string& dataset) {
  // An older plugin ignores mounted_only and lists the datasets as well.
  return strings_of(TRY(call("list_datasets", {{"dataset", dataset}, {"mounted_only", true}})),
                    "mounted");
}

Result<void> Storage::unmount(const std::string& dataset) {
  TRY(call("unmount", {{"dataset", dataset}}));
  return {};
}

Result<std::filesystem::path> Storage::mountpoint(const std::string& dataset) {
  const json response = TRY(call("mountpoint", {{"dataset", dataset}}));
  if (!response.is_object() || !response.contains("mountpoint") ||
      !response.at("mountpoint").is_string())
    return make_error(EIO, "storage plugin: mountpoint returned no path");
  return std::filesystem::path(response.at("mountpoint").get<std::string>());
}

Result<void> Storage::copy(const std::string& source, const std::string& target) {
  TRY(call("copy", {{"source", source}, {"target", target}}));
  return {};
}

Result<bool> Storage::exists(const std::string& name) {
  const json response = TRY(call("info", {{"name", name}}));
  if (!response.is_object() || !response.contains("exists") || !response.at("exists").is_boolean())
    return make_error(EIO, "storage plugin: info returned no 'exists'");
  return response.at("exists").get<bool>();
}

}  // namespace kleene::storage
