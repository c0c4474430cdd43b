// The image builder: builds images from a Dockerfile the way Kleene does (docs/builds.md). The
// build itself is executor.cpp; it reaches the engine only through the host service
// engine_call (ABI 1.1), so another builder plugin could replace this one.
#include "builder/executor.hpp"
#include "kleene/plugin/sdk.hpp"

namespace {

class ImageBuilder final : public kleene::sdk::Builder {
 public:
  using Builder::Builder;

  nlohmann::json build(const nlohmann::json& request) override {
    const auto& h = host();
    return kleene::builder::run_build(
        [&h](const std::string& op, nlohmann::json body) {
          try {
            return h.engine(op, body);
          } catch (const kleene::sdk::Error& e) {
            if (e.status() == KLEENE_E_UNSUPPORTED)
              throw kleene::builder::EngineUnsupported(e.what());
            throw;
          }
        },
        request);
  }
};

}  // namespace

KLEENE_BUILDER_PLUGIN(ImageBuilder, "builder", "0.1.0",
                      "builds images from a Dockerfile, as Kleene does",
                      KLEENE_CAP_BUILD_CACHE | KLEENE_CAP_BUILD_MULTI_STAGE |
                          KLEENE_CAP_BUILD_CONTEXT_UPLOAD);
