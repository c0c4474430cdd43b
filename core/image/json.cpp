// Kleene's Image schema (kleened-openapi.json: Image), plus buildargs and parent_snapshot,
// which Kleene's own daemon keeps too, and the build's entrypoint, workdir, labels and
// exposed_ports when it set them (Kleene's clients ignore fields they do not know).
#include "image/image.hpp"

namespace kleene::image {

nlohmann::json to_json(const Image& image) {
  nlohmann::json out{
      {"id", image.id},
      {"name", image.name},
      {"tag", image.tag},
      {"cmd", image.cmd},
      {"env", image.env},
      {"user", image.user},
      {"instructions", image.instructions},
      {"buildargs", image.buildargs},
      {"dataset", image.dataset},
      {"parent_snapshot", image.parent_snapshot},
      {"created", image.created},
  };
  for (const auto* key : {"entrypoint", "workdir", "labels", "exposed_ports"})
    if (auto it = image.config.find(key); it != image.config.end()) out[key] = *it;
  return out;
}

}  // namespace kleene::image
