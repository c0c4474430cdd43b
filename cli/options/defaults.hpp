// Defaults compiled into klee (CMake passes KLEE_DEFAULT_HOST and KLEE_VERSION).
#pragma once

#include <string_view>

#ifndef KLEE_DEFAULT_HOST
#define KLEE_DEFAULT_HOST "http:///var/run/kleened.sock"
#endif
#ifndef KLEE_VERSION
#define KLEE_VERSION "0.0.0"
#endif

namespace klee {

inline constexpr std::string_view kDefaultHost = KLEE_DEFAULT_HOST;
inline constexpr std::string_view kVersion = KLEE_VERSION;

}  // namespace klee
