// The build executor: runs a BuildPlanner's steps against the engine (the host service
// engine_call, docs/plugins.md "Engine operations"): a build container per stage, created
// lazily so a build whose steps all hit the cache creates one container only, at the end;
// RUN as an execution in it; COPY/ADD in this process from the context (context_copy.cpp) into
// the container's root, except ADD's archives, which the engine unpacks (op `unpack`: kleened's
// confined extract helper; here, with the same rules, for an engine without it); a snapshot after
// each RUN/COPY/ADD; the target stage committed as the image. Every container the build made is
// removed before build() returns, except the one that became the image (or `<name>:failed` with
// cleanup off).
#pragma once

#include <functional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

namespace kleene::builder {

// engine_call as a function: returns the operation's JSON answer or throws (sdk::Error);
// EngineUnsupported for an operation the engine does not have (KLEENE_E_UNSUPPORTED).
using EngineCall = std::function<nlohmann::json(const std::string& op, nlohmann::json request)>;

struct EngineUnsupported : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// `request`: the build op's request (core/api/image_build.cpp: build, context, dockerfile, name,
// tag, quiet, cleanup, no_cache, buildargs, from, user, env). Returns {"status": "ok", "id"} or
// {"status": "failed", "message": <close reason>, "snapshot": <last snapshot or "">}.
nlohmann::json run_build(const EngineCall& engine, const nlohmann::json& request);

}  // namespace kleene::builder
