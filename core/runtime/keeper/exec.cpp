// An execution's process: forked by the keeper (already in the container's pid namespace, see
// main.cpp), it joins the container's cgroup and other namespaces, takes its stdio, and hands
// over to the sandbox. Errors before execve go to the process's own output (the caller sees
// them as the execution's output) with exit code 127 (not found), 126 (not executable) or 1.
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "keeper.hpp"
#include "runtime/sandbox.hpp"

namespace kleene::keeper {

namespace {

[[noreturn]] void die(const std::string& message, int code) {
  std::string line = message + "\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  ::_exit(code);
}

[[noreturn]] void die_errno(const char* what) {
  die(std::string(what) + ": " + std::strerror(errno), 1);
}

Result<void> open_pty(Stdio& stdio, UniqueFd& slave) {
  stdio.master.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!stdio.master) return errno_error("posix_openpt");
  int unlock = 0;
  if (::ioctl(stdio.master.get(), TIOCSPTLCK, &unlock) != 0) return errno_error("unlockpt");
  slave.reset(::ioctl(stdio.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return errno_error("open the pty slave");
  winsize ws{};
  ws.ws_row = 24;
  ws.ws_col = 80;
  ::ioctl(stdio.master.get(), TIOCSWINSZ, &ws);
  return {};
}

Result<void> make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe2");
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return {};
}

[[noreturn]] void run_child(const runtime::ProcessSpec& process, const runtime::JailParams& params,
                            const ContainerHandles& h, int in, int out) {
  // Until execve, nobody in the container may open our /proc entries (exe, fd, mem).
  ::prctl(PR_SET_DUMPABLE, 0);
  // Our own session: stop_exec signals the process group, and a tty becomes ours.
  ::setsid();
  if (::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
      ::dup2(out, STDERR_FILENO) < 0) {
    ::_exit(1);
  }
  if (process.tty && ::ioctl(STDIN_FILENO, TIOCSCTTY, 0) != 0) die_errno("TIOCSCTTY");
  // Default signals for the process (the keeper blocks some and ignores SIGPIPE).
  for (int sig = 1; sig < NSIG; ++sig)
    ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);

  if (::write(h.cgroup_procs.get(), "0", 1) != 1) die_errno("join the container's cgroup");
  const std::pair<int, int> namespaces[] = {{h.ipc.get(), CLONE_NEWIPC},
                                            {h.uts.get(), CLONE_NEWUTS},
                                            {h.net.get(), CLONE_NEWNET},
                                            {h.cgroup.get(), CLONE_NEWCGROUP},
                                            {h.mnt.get(), CLONE_NEWNS}};
  for (const auto& [fd, type] : namespaces) {
    if (::setns(fd, type) != 0) die_errno("setns");
  }
  // Nothing of the keeper's beyond this point (the sandbox closes again before execve).
  ::syscall(SYS_close_range, 3U, ~0U, 0);
  // setns(mnt) put root and cwd at the namespace's root: the container's, since pivot_root.
  if (::chdir("/") != 0) die_errno("chdir /");

  auto who = runtime::sandbox::resolve_user(process.user);
  if (!who) die(who.error().message, 1);
  runtime::ProcessSpec final_process = process;
  if (final_process.workdir.empty()) final_process.workdir = "/";
  // exec.noclean: over the environment kleened had (passed on to the keeper), as a jail
  // inherits jail(8)'s.
  std::vector<std::string> inherited;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e)
    inherited.emplace_back(*e);
  final_process.env =
      runtime::sandbox::final_env(process.env, *who, params.clean_env, process.tty, inherited);
  const Error error = runtime::sandbox::exec_process(final_process, *who, params);
  die(error.message, error.code == ENOENT ? 127 : error.code == EACCES ? 126 : 1);
}

}  // namespace

Result<pid_t> spawn_execution(const runtime::ProcessSpec& process,
                              const runtime::JailParams& params, const ContainerHandles& handles,
                              Stdio& stdio) {
  if (process.argv.empty()) return make_error(EINVAL, "no command given");
  stdio.tty = process.tty;
  UniqueFd child_in, child_out;
  if (process.tty) {
    TRY(open_pty(stdio, child_in));
  } else {
    UniqueFd in_read, out_write;
    TRY(make_pipe(in_read, stdio.in_write));
    TRY(make_pipe(stdio.out_read, out_write));
    child_in = std::move(in_read);
    child_out = std::move(out_write);
  }
  const int in = child_in.get();
  const int out = process.tty ? child_in.get() : child_out.get();
  const pid_t pid = ::fork();
  if (pid < 0) {
    // ENOMEM: the pid namespace's init is gone (the container is ending).
    if (errno == ENOMEM) return make_error(ENOENT, "the container is not running");
    return errno_error("fork");
  }
  if (pid == 0) run_child(process, params, handles, in, out);
  return pid;
}

}  // namespace kleene::keeper
