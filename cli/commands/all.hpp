// Every command klee has. To add one: write commands/<group>_<verb>.cpp defining
// `Command <group>_<verb>_command()`, declare it here, and list it in all.cpp.
#pragma once

#include "commands/registry.hpp"

namespace klee {

Command version_command();
Command plugin_ls_command();

// The registry with all groups and commands above.
[[nodiscard]] const Registry& builtin_registry();

}  // namespace klee
