// The image builder: builds images from a Dockerfile the way Kleene does.
// Every operation still answers "not implemented yet" (the SDK's default).
#include "kleene/plugin/sdk.hpp"

namespace {

class ImageBuilder final : public kleene::sdk::Builder {
 public:
  using Builder::Builder;
};

}  // namespace

KLEENE_BUILDER_PLUGIN(ImageBuilder, "builder", "0.1.0",
                      "builds images from a Dockerfile, as Kleene does",
                      KLEENE_CAP_BUILD_CACHE | KLEENE_CAP_BUILD_MULTI_STAGE |
                          KLEENE_CAP_BUILD_CONTEXT_UPLOAD);
