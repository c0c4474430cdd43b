// YAML -> JSON for the free-form parts of the config (plugin settings).
#pragma once

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

namespace kleene::config {

// Plain scalars become null/bool/integer/float when they read as one (YAML 1.2 core schema);
// quoted scalars stay strings.
nlohmann::json yaml_to_json(const YAML::Node& node);

}  // namespace kleene::config
