// What the core's process spawners share: posix_spawn's attribute objects, set up the same way
// for every child (empty signal mask, default dispositions, a process group of its own), the
// descriptors handed to a child kept clear of the numbers it gets them as, the child owned until
// it is reaped, and the exit status as one number.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <cerrno>

#include "util/error.hpp"
#include "util/unique_fd.hpp"

namespace kleene::util {

// posix_spawn's C-style attribute and file-action objects, destroyed on every path. The
// attributes are set: empty signal mask, every signal's default disposition, a new process group.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    ::posix_spawn_file_actions_init(&actions);
    ::posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    ::posix_spawnattr_setsigmask(&attr, &none);
    ::posix_spawnattr_setsigdefault(&attr, &all);
    ::posix_spawnattr_setpgroup(&attr, 0);
    ::posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  }
  ~SpawnSetup() {
    ::posix_spawnattr_destroy(&attr);
    ::posix_spawn_file_actions_destroy(&actions);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

// A waitpid status as an exit code: the exit status, or 128 + the signal that ended it.
inline int exit_code_of(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

// `fd` moved (close-on-exec) to a number above `highest`, so that a child's dup2s onto
// 0..highest can never overwrite another of the descriptors it is given (possible when the
// daemon runs with a standard stream closed).
inline Result<UniqueFd> fd_above(UniqueFd fd, int highest) {
  if (fd.get() > highest) return fd;
  const int moved = ::fcntl(fd.get(), F_DUPFD_CLOEXEC, highest + 1);
  if (moved < 0) return errno_error("fcntl(F_DUPFD_CLOEXEC)");
  return UniqueFd(moved);
}

// A spawned child until reaped: killed (with its process group: SpawnSetup makes it lead one)
// and reaped if the owner leaves early.
class SpawnedChild {
 public:
  explicit SpawnedChild(pid_t pid) : pid_(pid) {}
  ~SpawnedChild() {
    if (pid_ > 0) {
      kill_group();
      (void)wait_status();
    }
  }
  SpawnedChild(const SpawnedChild&) = delete;
  SpawnedChild& operator=(const SpawnedChild&) = delete;

  [[nodiscard]] pid_t pid() const { return pid_; }
  void kill_group() const {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
  }
  // The raw waitpid status.
  Result<int> wait_status() {
    int status = 0;
    for (;;) {
      const pid_t r = ::waitpid(pid_, &status, 0);
      if (r == pid_) break;
      if (r < 0 && errno == EINTR) continue;
      pid_ = -1;
      return errno_error("waitpid");
    }
    pid_ = -1;
    return status;
  }
  // The exit code (exit_code_of).
  Result<int> wait() {
    const int status = TRY(wait_status());
    return exit_code_of(status);
  }

 private:
  pid_t pid_;
};

}  // namespace kleene::util
