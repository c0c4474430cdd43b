#pragma once

#include <string>

// Locations of the artefacts under test, compiled in by tests/integration/CMakeLists.txt.
namespace kleene::it::paths {

inline std::string kleened() {
  return KLEENE_IT_KLEENED;
}
inline std::string klee() {
  return KLEENE_IT_KLEE;
}
inline std::string plugin_dir() {
  return KLEENE_IT_PLUGIN_DIR;
}
inline std::string keeper() {
  return KLEENE_IT_KEEPER;
}
inline std::string fixtures() {
  return KLEENE_IT_FIXTURES;
}
inline std::string version() {
  return KLEENE_IT_VERSION;
}

}  // namespace kleene::it::paths
