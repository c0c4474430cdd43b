// The core's view of storage: datasets, snapshots and clones, through the storage plugin.
// Nothing above this class names ZFS; the layout below is Kleene's.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace kleene::plugin {
class LoadedPlugin;
class Registry;
}  // namespace kleene::plugin
namespace kleene::config {
struct DaemonConfig;
}

namespace kleene::storage {

// Kleene's dataset layout below the configured root (config `kleene_root`):
//   <root>/image/<id>       images; snapshot @image, build snapshots @<12hex>
//   <root>/container/<id>   containers (clones of an image snapshot)
//   <root>/volumes/<name>   volumes
class Layout {
 public:
  explicit Layout(std::string root) : root_(std::move(root)) {}
  const std::string& root() const { return root_; }
  std::string images() const { return root_ + "/image"; }
  std::string containers() const { return root_ + "/container"; }
  std::string volumes() const { return root_ + "/volumes"; }
  std::string image(std::string_view id) const { return images() + "/" + std::string(id); }
  std::string container(std::string_view id) const { return containers() + "/" + std::string(id); }
  std::string volume(std::string_view name) const { return volumes() + "/" + std::string(name); }

 private:
  std::string root_;
};

struct InitOptions {
  bool create_pool =
      false;             // `kleened init`: create a file-backed pool if the root's pool is missing
  bool dry_run = false;  // report the plan, change nothing
};

class Storage {
 public:
  // The storage plugin named by config (`storage_driver`, default "zfs"); ENOENT if not loaded.
  static Result<std::unique_ptr<Storage>> open(plugin::Registry& plugins,
                                               const config::DaemonConfig& config);
  // For tests: a given plugin and root.
  Storage(plugin::LoadedPlugin& plugin, std::string root);

  const Layout& layout() const { return layout_; }

  // Make the backend usable (start its service if needed, import/create the pool) and create
  // the root, image, container and volume datasets. Idempotent. Returns the steps: a list of
  // {"action": "...", "done": bool} (with dry_run: what would be done).
  Result<nlohmann::json> init(const InitOptions& options);

  Result<void> create_dataset(const std::string& name);
  Result<void> destroy(const std::string& name, bool recursive = false);
  Result<void> snapshot(const std::string& snapshot);  // "dataset@name"
  Result<void> clone(const std::string& snapshot, const std::string& target);
  Result<void> rename(const std::string& from, const std::string& to);
  Result<std::vector<std::string>> list_snapshots(const std::string& dataset);  // full names
  Result<std::vector<std::string>> list_clones(const std::string& snapshot);    // dataset names
  Result<std::filesystem::path> mountpoint(const std::string& dataset);
  // Full copy of a dataset (or of a snapshot) into a new dataset `target`.
  Result<void> copy(const std::string& source, const std::string& target);
  Result<bool> exists(const std::string& name);  // dataset or snapshot
  // The file systems directly below `dataset`, full names, sorted. ENOSYS from a plugin built
  // before ABI 1.2.
  Result<std::vector<std::string>> list_datasets(const std::string& dataset);
  // Those of them that are mounted (ABI 1.2). Asked with mounted_only: storage-zfs then reads
  // the mount table alone (no zfs command; a missing dataset has none), a plugin that ignores
  // the field lists its datasets as well.
  Result<std::vector<std::string>> mounted_below(const std::string& dataset);
  // Unmounts a file system (mountpoint() mounts it again); nothing if it is not mounted. EBUSY
  // while it is in use (ABI 1.2).
  Result<void> unmount(const std::string& dataset);

 private:
  Result<nlohmann::json> call(std::string_view op, const nlohmann::json& request);
  plugin::LoadedPlugin& plugin_;
  Layout layout_;
};

}  // namespace kleene::storage
