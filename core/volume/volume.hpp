// Volumes as kleened keeps them (Kleene's Volume schema) and their table in the store.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace kleene::store {
class Store;
}

namespace kleene::volume {

struct Volume {
  std::string name;
  std::string dataset;
  std::string mountpoint;
  std::string created;  // ISO-8601 UTC with microseconds
};

struct MountPoint {  // Kleene's MountPoint schema
  std::string container_id;
  std::string type;  // "volume" | "nullfs"
  std::string source;
  std::string destination;
  bool read_only = false;
};

struct MountUser {  // a container that mounts a volume
  std::string id;
  std::string name;
};

// Docker's rule for object names (util/names.hpp): the name is a dataset and a path component.
bool is_valid_volume_name(std::string_view name);

// Held by every change of volumes: creation and removal (the API's and a container create's
// failed-create cleanup), and a container create from taking its volumes to inserting its mounts.
// "Does the row exist / is it mounted" and the dataset work that follows are then never
// interleaved with another change of the same volume.
std::mutex& change_mutex();

nlohmann::json to_json(const Volume& volume);
nlohmann::json to_json(const MountPoint& mount);

class VolumeRepository {
 public:
  explicit VolumeRepository(store::Store& store) : store_(store) {}
  Result<void> insert(const Volume& volume);  // EEXIST if the name is taken
  Result<Volume> get(std::string_view name);  // ENOENT
  Result<std::vector<Volume>> list();         // newest first
  Result<std::vector<MountPoint>> mountpoints(std::string_view name);
  Result<void> remove(std::string_view name);  // EBUSY while a container mounts it

  // Containers with a mount of the volume (what keeps it from being removed), by id.
  Result<std::vector<MountUser>> users(std::string_view name);
  // Volumes no container mounts, newest first.
  Result<std::vector<Volume>> unused();

 private:
  store::Store& store_;
};

}  // namespace kleene::volume
