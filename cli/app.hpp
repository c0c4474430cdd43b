// klee's whole command line, callable in-process (main() and the tests use it).
#pragma once

#include <ostream>
#include <span>
#include <string>

#include "options/settings.hpp"

namespace klee {

// `args` excludes argv[0]. Exit codes: 0 ok, 1 runtime error (kleened unreachable, an API
// error), 2 usage or configuration error.
int run_klee(std::span<const std::string> args, const EnvLookup& env, std::ostream& out,
             std::ostream& err);

}  // namespace klee
