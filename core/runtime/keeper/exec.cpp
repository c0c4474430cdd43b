// An execution's process: forked by the keeper (already in the container's pid namespace, see
// main.cpp), it joins the container's cgroup and other namespaces, takes its stdio, and hands
// over to the sandbox. Errors before execve go to the process's own output (the caller sees
// them as the execution's output) with exit code 127 (not found), 126 (not executable) or 1.
//
// A tty execution in a container with a /dev gets a pty of the container's own devpts instance
// (as runc does), so `tty` names /dev/pts/N inside: the process opens it itself once it is in
// the container's mount namespace, keeps the slave and hands the master to the keeper over a
// socketpair (SCM_RIGHTS). Without a /dev (mount.nodevfs), or when the container's devpts
// fails the checks, it gets a pty of the host's devpts from the keeper instead.
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>

#include "keeper.hpp"
#include "runtime/sandbox.hpp"
#include "util/openat2.hpp"

namespace kleene::keeper {

namespace {

// The terminal hand-over between the keeper and a tty execution's process (SOCK_SEQPACKET,
// one packet each way, before execve):
//   process -> keeper: kPtyMaster + the master of a pty of the container's devpts, or
//                      kPtyHost + why it cannot use the container's devpts;
//   keeper -> process: kPtyOwn (keep your pty), or kPtyHostSlave + the slave of a host pty.
enum PtyMessage : char {
  kPtyMaster = 'M',
  kPtyHost = 'H',
  kPtyOwn = 'O',
  kPtyHostSlave = 'S',
};

// How long the keeper waits for the process's pty (it only setns'es and opens a file first).
constexpr int kPtyTimeoutMs = 10000;

bool send_packet(int sock, char type, std::string_view text = {}, int fd = -1) {
  std::string body(1, type);
  body += text;
  iovec iov{body.data(), body.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))]{};
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  }
  ssize_t n;
  do {
    n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(body.size());
}

// One packet: its type (0 on end of file, error or timeout), its text and at most one fd
// (close-on-exec). timeout_ms < 0: no timeout.
char recv_packet(int sock, int timeout_ms, std::string& text, UniqueFd& fd) {
  pollfd pfd{sock, POLLIN, 0};
  int ready;
  do {
    ready = ::poll(&pfd, 1, timeout_ms);
  } while (ready < 0 && errno == EINTR);
  if (ready != 1) return 0;
  char buf[512];
  iovec iov{buf, sizeof buf};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))]{};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return 0;
  // Room for one fd: the kernel drops (closes) any more.
  const cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c != nullptr && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
      c->cmsg_len == CMSG_LEN(sizeof(int))) {
    int received;
    std::memcpy(&received, CMSG_DATA(c), sizeof received);
    fd.reset(received);
  }
  if (n < 1) return 0;
  text.assign(buf + 1, static_cast<size_t>(n - 1));
  return buf[0];
}

void default_size(int master) {
  winsize ws{};
  ws.ws_row = 24;
  ws.ws_col = 80;
  ::ioctl(master, TIOCSWINSZ, &ws);
}

// A pty of the host's devpts (the keeper's): master for the keeper, slave for the process.
Result<void> open_host_pty(Stdio& stdio, UniqueFd& slave) {
  stdio.master.reset(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!stdio.master) return errno_error("posix_openpt");
  int unlock = 0;
  if (::ioctl(stdio.master.get(), TIOCSPTLCK, &unlock) != 0) return errno_error("unlockpt");
  slave.reset(::ioctl(stdio.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return errno_error("open the pty slave");
  default_size(stdio.master.get());
  return {};
}

// The keeper's side of the hand-over: the process's master, checked, or a host pty.
Result<void> receive_pty(int sock, const std::string& exec_id, Stdio& stdio) {
  std::string text;
  UniqueFd fd;
  const char type = recv_packet(sock, kPtyTimeoutMs, text, fd);
  std::string why;
  if (type == kPtyMaster) {
    struct stat st {};
    int number = -1;
    // A master opened through a ptmx (5:2), not a slave or anything else.
    if (fd && ::fstat(fd.get(), &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 2) &&
        ::ioctl(fd.get(), TIOCGPTN, &number) == 0) {
      if (!send_packet(sock, kPtyOwn)) return errno_error("hand over the execution's terminal");
      stdio.master = std::move(fd);
      default_size(stdio.master.get());
      log("execution %s: pty /dev/pts/%d of the container", exec_id.c_str(), number);
      return {};
    }
    why = "what it sent is not a pty master";
  } else if (type == kPtyHost) {
    why = text;
  } else {
    return make_error(EIO, "the execution's process did not set up its terminal");
  }
  log("execution %s: a pty of the host (%s)", exec_id.c_str(), why.c_str());
  UniqueFd slave;
  TRY(open_host_pty(stdio, slave));
  if (!send_packet(sock, kPtyHostSlave, {}, slave.get())) {
    return errno_error("hand over the execution's terminal");
  }
  return {};
}

// --- in the execution's process ---

// A tty execution with the container's devpts: the hand-over socket until the pty is stdio.
int tty_socket = -1;

bool take_tty(int slave) {
  if (::dup2(slave, STDIN_FILENO) < 0 || ::dup2(slave, STDOUT_FILENO) < 0 ||
      ::dup2(slave, STDERR_FILENO) < 0) {
    return false;
  }
  return ::ioctl(STDIN_FILENO, TIOCSCTTY, 0) == 0;
}

// Ask the keeper for a host pty and make it our stdio and controlling terminal.
bool take_host_pty(std::string_view why) {
  const UniqueFd sock(std::exchange(tty_socket, -1));
  std::string text;
  UniqueFd slave;
  return send_packet(sock.get(), kPtyHost, why) &&
         recv_packet(sock.get(), -1, text, slave) == kPtyHostSlave && slave &&
         take_tty(slave.get());
}

[[noreturn]] void die(const std::string& message, int code) {
  // Still without a terminal: get one to say it on.
  if (tty_socket >= 0 && !take_host_pty(message)) ::_exit(code);
  std::string line = message + "\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  ::_exit(code);
}

[[noreturn]] void die_errno(const char* what) {
  die(std::string(what) + ": " + std::strerror(errno), 1);
}

bool is_devpts(int fd) {
  struct statfs fs {};
  return ::fstatfs(fd, &fs) == 0 && fs.f_type == DEVPTS_SUPER_MAGIC;
}

// The pty multiplexer of the container's devpts instance. The container's root may have
// replaced anything under /dev: /dev/pts is resolved in our root (the container's) without
// following any symlink and must be a devpts mount; its ptmx is opened without following a
// symlink and must be devpts's multiplexer (5:2). /dev/ptmx (a symlink to pts/ptmx) is not
// used.
Result<UniqueFd> open_container_ptmx() {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return errno_error("open /");
  UniqueFd pts(
      util::openat2_retrying(root.get(), "/dev/pts", O_PATH | O_DIRECTORY,
                             RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS));
  if (!pts) return errno_error("/dev/pts");
  if (!is_devpts(pts.get())) return make_error(EXDEV, "/dev/pts is not a devpts file system");
  UniqueFd master(::openat(pts.get(), "ptmx", O_RDWR | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC));
  if (!master) return errno_error("/dev/pts/ptmx");
  struct stat st {};
  if (::fstat(master.get(), &st) != 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(5, 2) ||
      !is_devpts(master.get())) {
    return make_error(EXDEV, "/dev/pts/ptmx is not devpts's pty multiplexer");
  }
  return master;
}

// A pty of the container's devpts as our stdio and controlling terminal, its master handed to
// the keeper; a host pty when the container's cannot be used. Returns whether it is the
// container's.
bool take_container_pty() {
  std::string why;
  UniqueFd slave;
  auto master = open_container_ptmx();
  if (!master) {
    why = master.error().message;
  } else {
    int unlock = 0;
    if (::ioctl(master->get(), TIOCSPTLCK, &unlock) != 0) {
      why = std::string("unlockpt: ") + std::strerror(errno);
    } else {
      // The slave through the master (TIOCGPTPEER), not through a path in the container.
      slave.reset(::ioctl(master->get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
      if (!slave) why = std::string("open the pty slave: ") + std::strerror(errno);
    }
  }
  if (!slave) {
    if (!take_host_pty(why)) ::_exit(1);
    return false;
  }
  const UniqueFd sock(std::exchange(tty_socket, -1));
  if (!send_packet(sock.get(), kPtyMaster, {}, master->get())) ::_exit(1);
  master->reset();  // only the keeper holds the master
  std::string text;
  UniqueFd host_slave;
  const char answer = recv_packet(sock.get(), -1, text, host_slave);
  if (answer == kPtyOwn) {
    if (!take_tty(slave.get())) ::_exit(1);
    return true;
  }
  if (answer != kPtyHostSlave || !host_slave || !take_tty(host_slave.get())) ::_exit(1);
  return false;
}

Result<void> make_pipe(UniqueFd& read_end, UniqueFd& write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe2");
  read_end.reset(fds[0]);
  write_end.reset(fds[1]);
  return {};
}

// in/out: the process's stdin and stdout+stderr (pipes, or a host pty's slave for both), or
// -1 with `pty_socket`: the hand-over socket for a pty of the container's devpts.
[[noreturn]] void run_child(const runtime::ProcessSpec& process, const runtime::JailParams& params,
                            const ContainerHandles& h, int in, int out, int pty_socket) {
  // Until execve, nobody in the container may open our /proc entries (exe, fd, mem).
  ::prctl(PR_SET_DUMPABLE, 0);
  // Our own session: stop_exec signals the process group, and a tty becomes ours.
  ::setsid();
  if (in >= 0) {
    if (::dup2(in, STDIN_FILENO) < 0 || ::dup2(out, STDOUT_FILENO) < 0 ||
        ::dup2(out, STDERR_FILENO) < 0) {
      ::_exit(1);
    }
    if (process.tty && ::ioctl(STDIN_FILENO, TIOCSCTTY, 0) != 0) die_errno("TIOCSCTTY");
  } else {
    tty_socket = pty_socket;
  }
  // Default signals for the process (the keeper blocks some and ignores SIGPIPE).
  for (int sig = 1; sig < NSIG; ++sig)
    ::signal(sig, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  // The keeper's own umask (077) is not the container's: processes get the usual 022, as with
  // Docker and a login shell, so what a build step writes is readable by the image's users.
  ::umask(022);

  // (Single-threaded since the fork: joining with our thread is joining with the process.)
  if (::write(h.cgroup_tasks.get(), "0", 1) != 1) die_errno("join the container's cgroup");
  const std::pair<int, int> namespaces[] = {{h.ipc.get(), CLONE_NEWIPC},
                                            {h.uts.get(), CLONE_NEWUTS},
                                            {h.net.get(), CLONE_NEWNET},
                                            {h.cgroup.get(), CLONE_NEWCGROUP},
                                            {h.mnt.get(), CLONE_NEWNS}};
  // setns(mnt) refuses (EINVAL) a process whose filesystem context other threads share. This
  // one has no thread of its own, but a runtime linked in may start one (TSan does on fork):
  // a private copy makes the join independent of that.
  if (::unshare(CLONE_FS) != 0) die_errno("unshare(CLONE_FS)");
  for (const auto& [fd, type] : namespaces) {
    if (::setns(fd, type) != 0) die_errno("setns");
  }
  // Nothing of the keeper's beyond this point (the sandbox closes again before execve) but
  // the hand-over socket, moved to fd 3.
  unsigned first_closed = 3;
  if (tty_socket >= 0) {
    if (tty_socket != 3 && ::dup3(tty_socket, 3, O_CLOEXEC) < 0) die_errno("dup3");
    tty_socket = 3;
    first_closed = 4;
  }
  ::syscall(SYS_close_range, first_closed, ~0U, 0);
  // setns(mnt) put root and cwd at the namespace's root: the container's, since pivot_root.
  if (::chdir("/") != 0) die_errno("chdir /");
  const bool container_pty = tty_socket >= 0 && take_container_pty();

  auto who = runtime::sandbox::resolve_user(process.user);
  if (!who) die(who.error().message, 1);
  // The terminal belongs to the process's user, as with login(1) and runc (the container's
  // devpts only: a host pty is left alone).
  if (container_pty) (void)!::fchown(STDIN_FILENO, who->uid, static_cast<gid_t>(-1));
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
  // With a /dev in the container, the process opens its pty there itself.
  const bool container_pty = process.tty && params.devfs;
  UniqueFd child_in, child_out, pty_socket, child_pty_socket;
  if (container_pty) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
      return errno_error("socketpair");
    }
    pty_socket.reset(pair[0]);
    child_pty_socket.reset(pair[1]);
  } else if (process.tty) {
    TRY(open_host_pty(stdio, child_in));
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
  if (pid == 0) run_child(process, params, handles, in, out, child_pty_socket.get());
  if (container_pty) {
    child_pty_socket.reset();  // so that its end of file means the process is gone
    if (auto received = receive_pty(pty_socket.get(), process.exec_id, stdio); !received) {
      ::kill(pid, SIGKILL);  // reaped by the loop like any child
      stdio = Stdio{};
      return std::unexpected(received.error());
    }
  }
  return pid;
}

}  // namespace kleene::keeper
