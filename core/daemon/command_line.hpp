// kleened's command line: `kleened [--config PATH] [--foreground|-f] [--daemon|-d]
// [--ready-fd N] [--version] [COMMAND [ARGS...]]`. No command means "serve"; `kleened init
// [--dry-run]` prepares the host's storage (daemon/init_command.hpp).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace kleene::daemon {

struct CommandLine {
  std::string config_path;
  bool config_explicit = false;  // --config given: a missing file is an error
  bool daemonize = false;
  std::optional<int> ready_fd;
  bool show_version = false;
  bool show_help = false;
  bool dry_run = false;  // init --dry-run
  std::string command;   // empty = serve, or "init"
  std::vector<std::string> args;
};

// EINVAL with a usage message on bad input.
Result<CommandLine> parse_command_line(int argc, const char* const argv[]);
std::string usage();

}  // namespace kleene::daemon
