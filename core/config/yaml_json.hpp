// YAML -> JSON for the free-form parts of the config (plugin settings).
#pragma once

#include <cstddef>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace kleene::config {

// Bounds of one conversion. YAML aliases share nodes, so a document can refer to itself
// (`&x {k: *x}`: endless) or grow exponentially (each level a list of aliases of the one
// before: "billion laughs"); JSON has no sharing, so each use is a copy.
inline constexpr std::size_t kMaxYamlDepth = 64;
inline constexpr std::size_t kMaxYamlValues = 100'000;
inline constexpr std::size_t kMaxYamlBytes = std::size_t{16} << 20;  // of scalars and keys

// Plain scalars become null/bool/integer/float when they read as one (YAML 1.2 core schema);
// quoted scalars stay strings. EINVAL beyond kMaxYamlDepth levels, kMaxYamlValues values or
// kMaxYamlBytes of text (aliases counted at each use).
Result<nlohmann::json> yaml_to_json(const YAML::Node& node);

}  // namespace kleene::config
