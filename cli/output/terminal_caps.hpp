// Whether klee may use colour: the fancy theme, a terminal on stdout, and no NO_COLOR.
#pragma once

#include "options/settings.hpp"

namespace klee {

[[nodiscard]] bool use_color(Theme theme, int fd, const EnvLookup& env);

}  // namespace klee
