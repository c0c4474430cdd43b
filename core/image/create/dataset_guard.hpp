// Undo for a half-made image: destroys what creation made (the image dataset, a snapshot of
// the source dataset) unless committed. Runs on every failure path, including a client that
// went away, so a failed creation leaves nothing behind.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace kleene::storage {
class Storage;
}

namespace kleene::image {

class DatasetGuard {
 public:
  explicit DatasetGuard(storage::Storage& storage) : storage_(storage) {}
  ~DatasetGuard();
  DatasetGuard(const DatasetGuard&) = delete;
  DatasetGuard& operator=(const DatasetGuard&) = delete;

  // Destroyed in the reverse order of adding; datasets recursively (with their snapshots).
  void add(std::string dataset_or_snapshot) { names_.push_back(std::move(dataset_or_snapshot)); }
  // Mounts below this directory (debootstrap's /proc, /sys) are detached before destroying.
  void unmount_below(std::filesystem::path dir) { mount_dirs_.push_back(std::move(dir)); }
  void commit() { names_.clear(), mount_dirs_.clear(); }

 private:
  storage::Storage& storage_;
  std::vector<std::string> names_;
  std::vector<std::filesystem::path> mount_dirs_;
};

// Lazily unmount every mount strictly below `dir`, deepest first. Returns how many.
int unmount_below(const std::filesystem::path& dir);

}  // namespace kleene::image
