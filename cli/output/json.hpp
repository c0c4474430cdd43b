// Pretty JSON for `inspect`-like output (rich's print_json and Kleene's simple theme both
// indent by two).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "options/settings.hpp"

namespace klee {

// Two-space indentation, UTF-8 kept as is, a trailing newline. `color` (fancy theme on a
// terminal) highlights keys and values the way rich does.
[[nodiscard]] std::string pretty_json(const nlohmann::json& value, Theme theme, bool color = false);

}  // namespace klee
