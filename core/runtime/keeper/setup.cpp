// The keeper's set-up and clean-up: cgroup, the init, namespaces, the socket.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "container.hpp"

namespace kleene::keeper {

namespace {

Result<void> write_file(const std::string& path, std::string_view value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return errno_error("open " + path);
  if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    return errno_error("write " + path);
  }
  return {};
}

Result<void> make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("mkdir " + path);
  return {};
}

}  // namespace

Result<void> Keeper::start(int startup_fd) {
  auto body = TRY(protocol::read_frame(startup_fd));
  request_ = TRY(protocol::decode_start(body));
  dir_fd_.reset(::open(request_.run_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dir_fd_) return errno_error("open " + request_.run_dir);
  open_log(dir_fd_.get());
  log("starting container %s", request_.spec.id.c_str());
  TRY(make_cgroup());
  TRY(clone_init());
  TRY(open_namespaces());
  TRY(listen_socket());
  sigset_t mask;
  ::sigprocmask(SIG_BLOCK, nullptr, &mask);
  signal_fd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd_) return errno_error("signalfd");
  timer_fd_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
  if (!timer_fd_) return errno_error("timerfd_create");
  log("container %s running, init pid %d", request_.spec.id.c_str(), init_pid_);
  return {};
}

Result<void> Keeper::make_cgroup() {
  const std::string pids = request_.cgroup_root + "/pids";
  struct stat st {};
  if (::stat(pids.c_str(), &st) != 0) return errno_error("the pids cgroup controller " + pids);
  TRY(make_dir(pids + "/kleene"));
  cgroup_dir_ = pids + "/kleene/" + request_.spec.id;
  if (::mkdir(cgroup_dir_.c_str(), 0755) != 0) {
    // A leftover of a keeper that died: empty, so it can go.
    if (errno != EEXIST || ::rmdir(cgroup_dir_.c_str()) != 0 ||
        ::mkdir(cgroup_dir_.c_str(), 0755) != 0) {
      const std::string dir = std::exchange(cgroup_dir_, {});
      return errno_error("mkdir " + dir);
    }
  }
  const int limit = request_.spec.pids_limit;
  TRY(write_file(cgroup_dir_ + "/pids.max", limit > 0 ? std::to_string(limit) : "max"));
  handles_.cgroup_tasks.reset(::open((cgroup_dir_ + "/tasks").c_str(), O_WRONLY | O_CLOEXEC));
  if (!handles_.cgroup_tasks) return errno_error("open " + cgroup_dir_ + "/tasks");
  return {};
}

Result<void> Keeper::clone_init() {
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
    return errno_error("socketpair");
  }
  control_.reset(pair[0]);
  UniqueFd init_end(pair[1]);
  // The cgroup namespace is made by the init itself, once it is in the container's cgroup.
  unsigned long flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | SIGCHLD;
  if (request_.spec.own_network) flags |= CLONE_NEWNET;
  // fork-like clone (no new stack): we are single-threaded.
  const long pid = ::syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) return errno_error("clone the container's init");
  if (pid == 0) {
    control_.reset();
    run_init(request_.spec, init_end.get(), handles_.cgroup_tasks.get());
  }
  init_pid_ = static_cast<pid_t>(pid);
  init_end.reset();
  char reply[4096];
  ssize_t n;
  do {
    n = ::recv(control_.get(), reply, sizeof reply, 0);
  } while (n < 0 && errno == EINTR);
  if (n >= 1 && reply[0] == kInitReady) return {};
  // The init failed (its message) or died; it is gone or going.
  ::kill(init_pid_, SIGKILL);
  ::waitpid(init_pid_, nullptr, 0);
  init_pid_ = 0;
  if (n > 1 && reply[0] == kInitFailed) {
    return make_error(EIO, std::string(reply + 1, static_cast<size_t>(n - 1)));
  }
  return make_error(EIO, "the container's init exited during set-up");
}

Result<void> Keeper::open_namespaces() {
  const std::string base = "/proc/" + std::to_string(init_pid_) + "/ns/";
  auto open_ns = [&](const char* name, UniqueFd& fd) -> Result<void> {
    fd.reset(::open((base + name).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return errno_error("open " + base + name);
    return {};
  };
  TRY(open_ns("ipc", handles_.ipc));
  TRY(open_ns("uts", handles_.uts));
  TRY(open_ns("net", handles_.net));
  TRY(open_ns("cgroup", handles_.cgroup));
  TRY(open_ns("mnt", handles_.mnt));
  UniqueFd pid_ns;
  TRY(open_ns("pid", pid_ns));
  // From now on every fork of ours lands in the container's pid namespace (only our children;
  // the keeper itself stays where it is).
  if (::setns(pid_ns.get(), CLONE_NEWPID) != 0) return errno_error("setns(pid)");
  return {};
}

Result<void> Keeper::listen_socket() {
  const std::string path = request_.run_dir + "/keeper.sock";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return make_error(ENAMETOOLONG, "socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  listen_fd_.reset(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listen_fd_) return errno_error("socket");
  const mode_t old = ::umask(0177);
  const int rc = ::bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0) return errno_error("bind " + path);
  if (::listen(listen_fd_.get(), 64) != 0) return errno_error("listen " + path);
  return {};
}

void Keeper::cleanup() {
  if (init_pid_ > 0 && !init_gone_) {  // a start that failed after the clone
    ::kill(init_pid_, SIGKILL);
    ::waitpid(init_pid_, nullptr, 0);
    init_gone_ = true;
  }
  if (!cgroup_dir_.empty() && ::rmdir(cgroup_dir_.c_str()) != 0 && errno != ENOENT) {
    log("rmdir %s: %s", cgroup_dir_.c_str(), std::strerror(errno));
  }
  if (dir_fd_) {
    ::unlinkat(dir_fd_.get(), "keeper.sock", 0);
    ::unlinkat(dir_fd_.get(), "keeper.log", 0);
    ::rmdir(request_.run_dir.c_str());
  }
}

std::string Keeper::state_frame() const {
  return protocol::Writer(protocol::kStateReply)
      .str(request_.spec.id)
      .i32(init_pid_)
      .i32(::getpid())
      .frame();
}

}  // namespace kleene::keeper
