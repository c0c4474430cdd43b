#include "output/terminal_caps.hpp"

#include <unistd.h>

namespace klee {

bool use_color(Theme theme, int fd, const EnvLookup& env) {
  if (theme != Theme::fancy || ::isatty(fd) == 0) return false;
  if (env("NO_COLOR")) return false;
  auto term = env("TERM");
  return !term || *term != "dumb";
}

}  // namespace klee
