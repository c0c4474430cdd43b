#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kleene::it {

// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};
// pipe2(O_CLOEXEC); throws on failure.
Pipe make_pipe();

struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] is an absolute path; no shell, no PATH search
  std::vector<std::string> env;   // the complete environment, "KEY=VALUE"
  int stdin_fd = -1;              // -1: /dev/null
  int stdout_fd = -1;             // -1: /dev/null
  int stderr_fd = -1;             // -1: /dev/null
  std::vector<int> pass_fds;      // become fds 3, 4, ... in the child; all others are closed
  // A network namespace (an open /run/netns/<name> or /proc/<pid>/ns/net) the child enters
  // with setns(CLONE_NEWNET) before exec; -1: the parent's. Only the network namespace: the
  // mount namespace stays the parent's (unlike `ip netns exec`, which also makes a new one).
  int netns_fd = -1;
};

// fork + execve; returns the child's PID. Throws std::system_error when fork fails.
pid_t spawn(const SpawnSpec& spec);

// Exit status in shell convention: the exit code, or 128 + signal number.
int decode_wait_status(int status);

// Waits up to `timeout` for `pid` to end without polling in a loop (pidfd + poll). For a child
// it is reaped and its decoded status returned; for a non-child (e.g. a daemonised process)
// 0 is returned once it is gone. nullopt on timeout.
std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout);

struct ProcessResult {
  int exit_code = -1;  // see decode_wait_status
  std::string out;
  std::string err;
  bool timed_out = false;
};

// Runs a command to completion, capturing stdout and stderr; SIGKILLed after `timeout`. With
// `netns_fd` >= 0 it runs in that network namespace (see SpawnSpec::netns_fd).
ProcessResult run_command(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          std::chrono::milliseconds timeout = std::chrono::seconds(60),
                          int netns_fd = -1);

// This process's environment without KLEE_* variables (so the host cannot steer klee), with
// HOME pointing at a directory that holds no klee config, then `overrides` applied.
std::vector<std::string> test_environment(const std::map<std::string, std::string>& overrides = {});

// Runs the klee binary under test (no shell) with `args`.
ProcessResult run_klee(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env = {});

// The absolute path of program `name` found in PATH, or "" when there is none.
std::string find_program(const std::string& name);

}  // namespace kleene::it
