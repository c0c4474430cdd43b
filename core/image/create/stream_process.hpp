// Running a long host command (debootstrap) whose output is forwarded as it comes and which
// is killed if the client goes away. util/process.hpp collects output until exit instead.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace kleene::image {

struct StreamSpec {
  std::vector<std::string> argv;  // argv[0] absolute
  std::vector<std::string> env;   // the whole environment ("KEY=VALUE")
  // stdout and stderr, merged, in chunks as they arrive.
  std::function<void(std::string_view)> on_output;
  // Polled about every 250 ms; true kills the process group and returns ECANCELED.
  std::function<bool()> cancelled;
};

// The exit code (128 + signal if killed by one). stdin is /dev/null; the child gets its own
// process group, default signal dispositions and an empty signal mask.
Result<int> run_streaming(const StreamSpec& spec);

}  // namespace kleene::image
