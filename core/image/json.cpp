// Kleene's Image schema (kleened-openapi.json: Image), plus buildargs and parent_snapshot,
// which Kleene's own daemon keeps too.
#include "image/image.hpp"

namespace kleene::image {

nlohmann::json to_json(const Image& image) {
  return nlohmann::json{
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
}

}  // namespace kleene::image
