// GET /version (an extension of ours): what this daemon is and where it runs.
#include <sys/utsname.h>

#include "api/context.hpp"
#include "api/router.hpp"
#include "kleene/plugin/abi.h"

#ifndef KLEENE_VERSION
#define KLEENE_VERSION "0.0.0"
#endif
#ifndef KLEENE_GIT_COMMIT
#define KLEENE_GIT_COMMIT "unknown"
#endif

namespace kleene::api {
namespace {

// The version of Kleene's API we are wire-compatible with (kleened-openapi.json).
constexpr const char* kApiVersion = "0.0.1";

nlohmann::json version_info() {
  utsname host{};
  ::uname(&host);
  return {
      {"name", "kleened"},
      {"version", KLEENE_VERSION},
      {"api_version", kApiVersion},
      {"plugin_abi",
       std::to_string(KLEENE_PLUGIN_ABI_MAJOR) + "." + std::to_string(KLEENE_PLUGIN_ABI_MINOR)},
      {"os", "linux"},
      {"kernel", host.release},
      {"arch", host.machine},
      {"git_commit", KLEENE_GIT_COMMIT},
  };
}

}  // namespace

void register_system_routes(Router& router, ApiContext&) {
  router.get("/version", [](const Request&) { return Response::json(200, version_info()); });
}

}  // namespace kleene::api
