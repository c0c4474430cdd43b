// Running a host command without a shell: the plugin host's run_command service and the
// core's calls to host tools (zfs, ip, nft, ...) go through here.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace kleene {

struct ProcessSpec {
  // argv[0] is the program and must be an absolute path (no PATH search, no shell).
  std::vector<std::string> argv;
  // "KEY=VALUE" entries; nullopt means an empty environment (never the daemon's own).
  std::optional<std::vector<std::string>> env;
  std::string stdin_data;  // written to the child's stdin, which is then closed
  // On expiry the process group is killed with SIGKILL and ETIMEDOUT is returned.
  std::optional<std::chrono::milliseconds> timeout;
  // Limit per stream; exceeding it kills the process group and returns EMSGSIZE.
  std::size_t max_output = 16 * 1024 * 1024;
};

struct ProcessResult {
  int exit_code = 0;  // the exit status, or 128 + signal number if killed by a signal
  std::string out;
  std::string err;
};

// Spawn argv with stdin/stdout/stderr on pipes, every other fd closed, default signal
// dispositions and an empty signal mask, in a new process group; feed stdin and collect both
// outputs without deadlock, then reap the child. Thread-safe.
//
// Output is collected until the child exits: a background grandchild that keeps the pipes
// open does not hold the call up (its later output is dropped).
// Errors: EINVAL (empty argv, relative argv[0], NUL in an argument), the spawn error (e.g.
// ENOENT, EACCES) as "<argv0>: <reason>", ETIMEDOUT, EMSGSIZE. A non-zero exit is NOT an error:
// check exit_code.
// Requirement on the rest of the process: nobody calls waitpid(-1)/wait() or ignores SIGCHLD,
// which would steal the child's exit status.
[[nodiscard]] Result<ProcessResult> run_process(const ProcessSpec& spec);

}  // namespace kleene
