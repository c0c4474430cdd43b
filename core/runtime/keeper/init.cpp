// The container's init: pid 1 of the container's pid namespace, cloned by the keeper.
// It sets the container up (cgroup, cgroup namespace, lo, rootfs, hostname), reports ready, and
// then only reaps orphans and answers the keeper, with CAP_KILL as its only capability
// (keep_only_cap_kill). It holds one fd: the control socket to the keeper. The container ends
// when the init exits (the kernel kills what is left in its pid namespace); it exits when
// nothing else is left (jail semantics, unless persist), on the keeper's kill, or when the
// keeper goes away.
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <net/if.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include "keeper.hpp"
#include "runtime/sandbox.hpp"

namespace kleene::keeper {

namespace {

void send_byte(int fd, char c) {
  (void)::send(fd, &c, 1, MSG_NOSIGNAL);
}

[[noreturn]] void fail(int control_fd, const std::string& message) {
  std::string packet(1, kInitFailed);
  packet += message;
  (void)::send(control_fd, packet.data(), packet.size(), MSG_NOSIGNAL);
  ::_exit(1);
}

// `lo` up in the container's own network namespace (an ioctl: no `ip` binary).
Result<void> loopback_up() {
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return errno_error("socket");
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) return errno_error("SIOCGIFFLAGS lo");
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) return errno_error("SIOCSIFFLAGS lo");
  return {};
}

void reap_all() {
  while (::waitpid(-1, nullptr, WNOHANG) > 0) {
  }
}

// Anybody left in our pid namespace? kill(-1, 0) from a pid namespace's init reaches every
// process of the namespace but itself (zombies included), and fails with ESRCH when none.
bool alone() {
  reap_all();
  return ::kill(-1, 0) != 0 && errno == ESRCH;
}

// Once set up, the init only reaps (waitpid), reads its signalfd, talks to the keeper over its
// socket and signals its pid namespace: kill(-1, SIGTERM) on stop must reach processes of any
// user (`-u nobody`), which takes CAP_KILL. Nothing else needs a capability, so the init keeps
// CAP_KILL alone: bounding set first (dropping needs CAP_SETPCAP), then effective/permitted/
// inheritable, then ambient. It never calls execve, so this is all it will ever hold. The uid
// stays 0 and the new permitted set is a subset of the old, so the kernel leaves the
// dumpable flag and the parent-death signal as they are.
Result<void> keep_only_cap_kill() {
  constexpr std::uint64_t kKept = std::uint64_t{1} << CAP_KILL;
  for (int cap = 0; cap < 64; ++cap) {
    const int in_set = ::prctl(PR_CAPBSET_READ, cap, 0, 0, 0);
    if (in_set < 0) break;  // EINVAL: past the kernel's last capability
    if (in_set == 1 && (kKept & (std::uint64_t{1} << cap)) == 0 &&
        ::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      return errno_error("drop capability " + std::to_string(cap) + " from the bounding set");
    }
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  data[0].effective = data[0].permitted = static_cast<std::uint32_t>(kKept);
  if (::syscall(SYS_capset, &header, data) != 0) return errno_error("capset");
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    return errno_error("clear the ambient capabilities");
  return {};
}

}  // namespace

void run_init(const runtime::ContainerSpec& spec, int control_fd, int cgroup_tasks_fd) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::prctl(PR_SET_NAME, "kleene-init");
  // Join the container's pids cgroup (we are this process's only thread), then make it the root
  // of a new cgroup namespace.
  if (::write(cgroup_tasks_fd, "0", 1) != 1) fail(control_fd, "join the pids cgroup");
  if (::unshare(CLONE_NEWCGROUP) != 0) fail(control_fd, "unshare(CLONE_NEWCGROUP)");
  // Nothing that leads outside the container: only the control socket stays.
  const int ctl = ::fcntl(control_fd, F_DUPFD_CLOEXEC, 0);
  if (ctl < 0) ::_exit(1);
  ::syscall(SYS_close_range, static_cast<unsigned>(ctl) + 1, ~0U, 0);
  if (ctl > 0) ::syscall(SYS_close_range, 0U, static_cast<unsigned>(ctl) - 1, 0);
  control_fd = ctl;

  if (spec.own_network) {
    if (auto r = loopback_up(); !r) fail(control_fd, r.error().message);
  }
  if (auto r = runtime::sandbox::enter_rootfs(spec); !r) fail(control_fd, r.error().message);
  if (auto r = runtime::sandbox::set_hostname(spec); !r) fail(control_fd, r.error().message);
  if (auto r = keep_only_cap_kill(); !r) fail(control_fd, r.error().message);
  // Container processes cannot ptrace us or open our /proc entries. Since the drop above, our
  // permitted set is a subset of a container root's: this flag alone keeps them out.
  ::prctl(PR_SET_DUMPABLE, 0);

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &mask, nullptr);
  const int sfd = ::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) fail(control_fd, "signalfd");
  send_byte(control_fd, kInitReady);
  drop_startup_text();

  bool persist = spec.params.persist;
  bool stopping = false;
  for (;;) {
    pollfd fds[2] = {{control_fd, POLLIN, 0}, {sfd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      ::_exit(1);
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info;
      while (::read(sfd, &info, sizeof info) > 0) {
      }
      if ((!persist || stopping) && alone()) ::_exit(0);
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      char msg[2] = {0, 0};
      const ssize_t n = ::recv(control_fd, msg, sizeof msg, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) ::_exit(0);  // the keeper is gone: end the container
      switch (msg[0]) {
        case kInitCheck:
          if ((!persist || stopping) && alone()) {
            send_byte(control_fd, kInitEnding);
            ::_exit(0);
          }
          send_byte(control_fd, kInitAlive);
          break;
        case kInitTerm:
          stopping = true;
          ::kill(-1, SIGTERM);
          if (alone()) ::_exit(0);
          break;
        case kInitKill:
          ::kill(-1, SIGKILL);
          ::_exit(0);
        case kInitPersist:
          persist = n > 1 && msg[1] != 0;
          if (!persist && alone()) ::_exit(0);  // it was only persist that kept it
          break;
        default:
          break;
      }
    }
  }
}

}  // namespace kleene::keeper
