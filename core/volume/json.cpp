// Kleene's Volume and MountPoint schemas (kleened-openapi.json).
#include "util/names.hpp"
#include "volume/volume.hpp"

namespace kleene::volume {

bool is_valid_volume_name(std::string_view name) {
  return is_valid_name(name);
}

nlohmann::json to_json(const Volume& volume) {
  return nlohmann::json{
      {"name", volume.name},
      {"dataset", volume.dataset},
      {"mountpoint", volume.mountpoint},
      {"created", volume.created},
  };
}

nlohmann::json to_json(const MountPoint& mount) {
  return nlohmann::json{
      {"container_id", mount.container_id},
      {"type", mount.type},
      {"source", mount.source},
      {"destination", mount.destination},
      {"read_only", mount.read_only},
  };
}

}  // namespace kleene::volume
