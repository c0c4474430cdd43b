#include "util/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>

#include "util/spawn.hpp"
#include "util/unique_fd.hpp"

namespace kleene {

namespace {

using Clock = std::chrono::steady_clock;

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

Result<Pipe> make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe2");
  UniqueFd r(fds[0]), w(fds[1]);
  return Pipe{TRY(util::fd_above(std::move(r), 2)), TRY(util::fd_above(std::move(w), 2))};
}

Result<void> set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return errno_error("fcntl(O_NONBLOCK)");
  }
  return {};
}

// Block SIGPIPE in this thread while writing to the child's stdin: a child that exits without
// reading must give us EPIPE, not kill the daemon. A SIGPIPE raised meanwhile is thread-directed
// and is consumed before the old mask comes back.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigset_t pending;
    sigpending(&pending);
    already_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old_);
  }
  ~SigpipeGuard() {
    if (!already_pending_) {
      sigset_t pipe_set;
      sigemptyset(&pipe_set);
      sigaddset(&pipe_set, SIGPIPE);
      const timespec zero{0, 0};
      while (sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t old_{};
  bool already_pending_ = false;
};

using Child = util::SpawnedChild;

Result<pid_t> spawn(const ProcessSpec& spec, const Pipe& in, const Pipe& out, const Pipe& err) {
  std::vector<char*> argv;
  for (const auto& a : spec.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  if (spec.env) {
    for (const auto& e : *spec.env)
      envp.push_back(const_cast<char*>(e.c_str()));
  }
  envp.push_back(nullptr);

  util::SpawnSetup setup;
  int rc = ::posix_spawn_file_actions_adddup2(&setup.actions, in.read.get(), 0);
  if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(&setup.actions, out.write.get(), 1);
  if (rc == 0) rc = ::posix_spawn_file_actions_adddup2(&setup.actions, err.write.get(), 2);
  // O_CLOEXEC covers our own fds; this also closes anything a library opened without it.
  if (rc == 0) rc = ::posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
  if (rc != 0) {
    errno = rc;
    return errno_error("posix_spawn setup");
  }
  pid_t pid = -1;
  rc = ::posix_spawn(&pid, argv[0], &setup.actions, &setup.attr, argv.data(), envp.data());
  if (rc != 0) {
    errno = rc;
    return errno_error(spec.argv[0]);
  }
  return pid;
}

Result<void> validate(const ProcessSpec& spec) {
  if (spec.argv.empty()) return make_error(EINVAL, "run_process: empty argv");
  if (spec.argv[0].empty() || spec.argv[0].front() != '/') {
    return make_error(EINVAL,
                      "run_process: program must be an absolute path: '" + spec.argv[0] + "'");
  }
  auto has_nul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
  for (const auto& a : spec.argv) {
    if (has_nul(a)) return make_error(EINVAL, "run_process: NUL byte in argument");
  }
  if (spec.env) {
    for (const auto& e : *spec.env) {
      if (has_nul(e) || e.find('=') == std::string::npos) {
        return make_error(EINVAL, "run_process: environment entries must be KEY=VALUE");
      }
    }
  }
  return {};
}

// Read what is available without blocking. Returns false once the stream hit EOF.
Result<bool> drain(UniqueFd& fd, std::string& sink, std::size_t limit, const char* stream) {
  std::array<char, 65536> buf;
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf.data(), buf.size());
    if (n > 0) {
      if (sink.size() + std::size_t(n) > limit) {
        return make_error(EMSGSIZE, std::string("command ") + stream + " exceeds " +
                                        std::to_string(limit) + " bytes");
      }
      sink.append(buf.data(), std::size_t(n));
      continue;
    }
    if (n == 0) {
      fd.reset();
      return false;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return true;
    return errno_error(std::string("read child ") + stream);
  }
}

// The child's pipes, as the parent sees them.
struct Streams {
  UniqueFd in;  // write end of the child's stdin; closed once everything is written
  UniqueFd out;
  UniqueFd err;
  UniqueFd pidfd;  // readable once the child exits; invalid on kernels without pidfd_open
};

Result<void> write_some(Streams& s, std::string_view data, std::size_t& written) {
  const ssize_t n = ::write(s.in.get(), data.data() + written, data.size() - written);
  if (n > 0) written += std::size_t(n);
  // EPIPE: the child closed its stdin; what it did not read is its business.
  if ((n < 0 && errno != EINTR && errno != EAGAIN) || written == data.size()) s.in.reset();
  return {};
}

// Feed stdin and collect stdout/stderr until the child exits (or, without a pidfd, until both
// pipes reach EOF). Returns ETIMEDOUT once the deadline passes (time_point::max(): none; not an
// optional, which GCC 12 at -O3 reports as maybe read uninitialized).
Result<void> pump(Streams& s, const ProcessSpec& spec, Clock::time_point deadline,
                  ProcessResult& result) {
  SigpipeGuard sigpipe_guard;
  std::size_t written = 0;
  if (spec.stdin_data.empty()) s.in.reset();
  for (;;) {
    if (!s.pidfd && !s.out && !s.err) return {};
    int wait_ms = -1;
    if (deadline != Clock::time_point::max()) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        return make_error(ETIMEDOUT, spec.argv[0] + ": timed out after " +
                                         std::to_string(spec.timeout->count()) + " ms");
      }
      wait_ms = static_cast<int>(std::min<long long>(left.count(), 1 << 30));
    }
    std::array<pollfd, 4> fds{{{s.out.get(), POLLIN, 0},
                               {s.err.get(), POLLIN, 0},
                               {s.in.get(), POLLOUT, 0},
                               {s.pidfd.get(), POLLIN, 0}}};  // negative fds are ignored
    if (::poll(fds.data(), fds.size(), wait_ms) < 0) {
      if (errno == EINTR) continue;
      return errno_error("poll");
    }
    // Once the child is gone, take what it wrote and stop: a grandchild holding the pipes
    // must not keep us waiting.
    const bool exited = fds[3].revents != 0;
    if (s.out && (fds[0].revents != 0 || exited)) {
      TRY(drain(s.out, result.out, spec.max_output, "stdout"));
    }
    if (s.err && (fds[1].revents != 0 || exited)) {
      TRY(drain(s.err, result.err, spec.max_output, "stderr"));
    }
    if (exited) return {};
    if (s.in && fds[2].revents != 0) TRY(write_some(s, spec.stdin_data, written));
  }
}

}  // namespace

Result<ProcessResult> run_process(const ProcessSpec& spec) {
  TRY(validate(spec));
  Pipe in = TRY(make_pipe());
  Pipe out = TRY(make_pipe());
  Pipe err = TRY(make_pipe());
  TRY(set_nonblocking(in.write.get()));
  TRY(set_nonblocking(out.read.get()));
  TRY(set_nonblocking(err.read.get()));

  const auto deadline = spec.timeout ? Clock::now() + *spec.timeout : Clock::time_point::max();
  Child child(TRY(spawn(spec, in, out, err)));
  Streams streams{std::move(in.write), std::move(out.read), std::move(err.read),
                  UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, child.pid(), 0)))};
  // Close our copies of the child's ends, or we would never see EOF.
  in.read.reset();
  out.write.reset();
  err.write.reset();

  ProcessResult result;
  // On any error, ~Child kills the process group and reaps the child.
  TRY(pump(streams, spec, deadline, result));
  result.exit_code = TRY(child.wait());
  return result;
}

}  // namespace kleene
