#include "process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <system_error>

#include "paths.hpp"

extern char** environ;

namespace kleene::it {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

Pipe make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    throw std::system_error(errno, std::generic_category(), "pipe2");
  }
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

namespace {

// Only async-signal-safe calls between fork and exec.
[[noreturn]] void exec_child(const SpawnSpec& spec, char* const* argv, char* const* envp) {
  if (spec.netns_fd >= 0 && ::setns(spec.netns_fd, CLONE_NEWNET) != 0) {
    const char* msg = "kleene harness: setns(CLONE_NEWNET) failed\n";
    (void)!::write(spec.stderr_fd >= 0 ? spec.stderr_fd : 2, msg, std::strlen(msg));
    _exit(125);
  }
  // Move every source fd out of the way first so that the dup2s below cannot clobber one
  // another whatever numbers the parent happened to get.
  constexpr int kHigh = 500;
  int null_fd = ::open("/dev/null", O_RDWR);
  auto lift = [&](int fd) { return ::fcntl(fd >= 0 ? fd : null_fd, F_DUPFD, kHigh); };
  int in = lift(spec.stdin_fd);
  int out = lift(spec.stdout_fd);
  int err = lift(spec.stderr_fd);
  std::array<int, 16> passed{};
  size_t n_passed = spec.pass_fds.size() < passed.size() ? spec.pass_fds.size() : passed.size();
  for (size_t i = 0; i < n_passed; ++i)
    passed[i] = lift(spec.pass_fds[i]);
  if (in < 0 || out < 0 || err < 0 || ::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 ||
      ::dup2(err, 2) < 0) {
    _exit(126);
  }
  for (size_t i = 0; i < n_passed; ++i) {
    if (passed[i] < 0 || ::dup2(passed[i], static_cast<int>(3 + i)) < 0) _exit(126);
  }
  ::close_range(static_cast<unsigned>(3 + n_passed), ~0U, 0);
  // The harness ignores SIGPIPE; the programs under test get the default disposition back.
  ::signal(SIGPIPE, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(argv[0], argv, envp);
  const char* msg = "kleene harness: execve failed: ";
  (void)!::write(2, msg, std::strlen(msg));
  (void)!::write(2, argv[0], std::strlen(argv[0]));
  (void)!::write(2, "\n", 1);
  _exit(127);
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

}  // namespace

pid_t spawn(const SpawnSpec& spec) {
  auto argv = c_strings(spec.argv);
  auto envp = c_strings(spec.env);
  pid_t pid = ::fork();
  if (pid < 0) throw std::system_error(errno, std::generic_category(), "fork");
  if (pid == 0) exec_child(spec, argv.data(), envp.data());
  return pid;
}

int decode_wait_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

std::optional<int> wait_for_exit(pid_t pid, std::chrono::milliseconds timeout) {
  // The raw syscall: glibc 2.36's <sys/pidfd.h> lacks extern "C" and does not link from C++.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) {
    if (errno == ESRCH) return 0;  // already gone and reaped by someone else
    throw std::system_error(errno, std::generic_category(), "pidfd_open");
  }
  pollfd pfd{pidfd.get(), POLLIN, 0};
  int ready = ::poll(&pfd, 1, static_cast<int>(timeout.count()));
  if (ready == 0) return std::nullopt;
  int status = 0;
  pid_t reaped = ::waitpid(pid, &status, 0);
  if (reaped == pid) return decode_wait_status(status);
  return 0;  // not our child: it has ended, its parent reaps it
}

ProcessResult run_command(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                          std::chrono::milliseconds timeout, int netns_fd) {
  Pipe out = make_pipe();
  Pipe err = make_pipe();
  SpawnSpec spec{argv, env, -1, out.write.get(), err.write.get(), {}, netns_fd};
  pid_t pid = spawn(spec);
  out.write.reset();
  err.write.reset();

  ProcessResult result;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::array<pollfd, 2> fds{pollfd{out.read.get(), POLLIN, 0}, pollfd{err.read.get(), POLLIN, 0}};
  std::array<std::string*, 2> sinks{&result.out, &result.err};
  int open_streams = 2;
  while (open_streams > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      break;
    }
    int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buffer[8192];
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n > 0) {
        sinks[i]->append(buffer, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_streams;
      }
    }
  }
  if (result.timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = decode_wait_status(status);
  return result;
}

std::vector<std::string> test_environment(const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::string> vars;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry(*e);
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    std::string key = entry.substr(0, eq);
    if (key.starts_with("KLEE_") || key == "XDG_CONFIG_HOME") continue;
    vars[key] = entry.substr(eq + 1);
  }
  // klee searches $HOME for its config file; a path that does not exist holds none.
  vars["HOME"] = "/nonexistent/kleene-it-home";
  for (const auto& [key, value] : overrides)
    vars[key] = value;
  std::vector<std::string> env;
  for (const auto& [key, value] : vars)
    env.push_back(key + "=" + value);
  return env;
}

ProcessResult run_klee(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv{paths::klee()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_command(argv, test_environment(env));
}

std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  for (const char* extra : {"/usr/sbin/", "/sbin/"}) {
    std::string candidate = std::string(extra) + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

}  // namespace kleene::it
