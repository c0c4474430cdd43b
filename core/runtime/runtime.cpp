// kleened's side of the keepers: start one (detached: double fork + setsid), and talk to it
// over <run_dir>/containers/<id>/keeper.sock (protocol.hpp). See docs/runtime.md.
#include "runtime/runtime.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <set>

#include "runtime/protocol.hpp"
#include "util/trusted_file.hpp"
#include "util/unique_fd.hpp"

namespace kleene::runtime {

namespace {

using protocol::Reader;
using protocol::Writer;

constexpr std::chrono::seconds kRequestTimeout{5};
constexpr std::chrono::seconds kStartTimeout{60};
constexpr std::chrono::seconds kStopGrace{30};  // beyond the stop timeout, before SIGKILL

Result<void> validate_id(const std::string& id) {
  if (id.empty() || id.size() > 64 || id == "." || id == ".." ||
      id.find_first_of("/\0", 0, 2) != std::string::npos) {
    return make_error(EINVAL, "invalid container id '" + id + "'");
  }
  return {};
}

void set_timeout(int fd, std::chrono::seconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// A fd moved to >= 10, so the child's dup2 onto 0..3 cannot clobber it.
Result<UniqueFd> high_fd(UniqueFd fd) {
  UniqueFd moved(::fcntl(fd.get(), F_DUPFD_CLOEXEC, 10));
  if (!moved) return errno_error("fcntl(F_DUPFD_CLOEXEC)");
  return moved;
}

Error not_running(const std::string& id) {
  return Error{ENOENT, "container " + id + " is not running"};
}

// An attached execution: the connection to the keeper that carries its stream.
class KeeperExecution final : public Execution {
 public:
  KeeperExecution(UniqueFd fd, pid_t init_pid) : fd_(std::move(fd)), init_pid_(init_pid) {}

  Result<ExecEvent> next() override {
    if (done_) return make_error(ENODATA, "the execution has exited");
    auto body = protocol::read_frame(fd_.get());
    if (!body) return make_error(EPIPE, "the container's keeper went away");
    Reader r(*body);
    ExecEvent event;
    switch (r.type()) {
      case protocol::kOutput:
        event.kind = ExecEvent::Kind::output;
        event.data = r.str();
        break;
      case protocol::kExit:
        event.kind = ExecEvent::Kind::exit;
        event.exit_code = r.i32();
        event.container_ended = r.u8() != 0;
        done_ = true;
        break;
      default:
        return make_error(EPROTO, "keeper protocol: unexpected frame");
    }
    if (!r.ok()) return make_error(EPROTO, "keeper protocol: malformed frame");
    return event;
  }

  Result<void> write_stdin(std::string_view bytes) override {
    while (!bytes.empty()) {
      const auto chunk = bytes.substr(0, 64 * 1024);
      TRY(send(Writer(protocol::kStdin).str(chunk).frame()));
      bytes.remove_prefix(chunk.size());
    }
    return {};
  }
  Result<void> close_stdin() override { return send(Writer(protocol::kCloseStdin).frame()); }
  Result<void> resize(unsigned short rows, unsigned short cols) override {
    return send(Writer(protocol::kResize).u16(rows).u16(cols).frame());
  }
  [[nodiscard]] pid_t init_pid() const override { return init_pid_; }

 private:
  Result<void> send(const std::string& frame) {
    std::lock_guard lock(write_mutex_);
    if (auto r = protocol::write_all(fd_.get(), frame); !r) {
      return make_error(EPIPE, "the container's keeper went away");
    }
    return {};
  }

  UniqueFd fd_;
  pid_t init_pid_;
  std::mutex write_mutex_;
  bool done_ = false;
};

}  // namespace

struct Runtime::Impl {
  RuntimeOptions options;
  std::mutex mutex;
  std::set<std::string> starting;
  std::mutex image_mutex;
  UniqueFd keeper_image;  // the sealed copy of the keeper every keeper runs from (or none)

  // CVE-2019-5736: the keeper binary is visible in every container (the init is a fork of the
  // keeper, and an execution is one until its execve: `#!/proc/self/exe` runs it there). A
  // process there can get hold of it through /proc/<pid>/exe; only the kernel's ETXTBSY keeps
  // it from being opened for writing while a keeper runs it. So, as runc does, keepers run from
  // a copy in a memfd sealed against every change (F_SEAL_WRITE, _SHRINK, _GROW, _SEAL): their
  // /proc/<pid>/exe names that copy, which nobody can write, never the file on the host. Made
  // once per kleened from keeper_path; -1 if the copy cannot be made (then the file is run).
  int sealed_keeper() {
    std::lock_guard lock(image_mutex);
    if (keeper_image) return keeper_image.get();
    UniqueFd file(::open(options.keeper_path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st {};
    if (!file || ::fstat(file.get(), &st) != 0 || !S_ISREG(st.st_mode)) return -1;
    auto image = high_fd(UniqueFd(static_cast<int>(
        ::syscall(SYS_memfd_create, "kleene-keeper", MFD_CLOEXEC | MFD_ALLOW_SEALING))));
    if (!image || !*image) return -1;
    for (off_t done = 0; done < st.st_size;) {
      const ssize_t n = ::sendfile(image->get(), file.get(), &done, st.st_size - done);
      if (n <= 0) return -1;
    }
    if (::fcntl(image->get(), F_ADD_SEALS,
                F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0)
      return -1;
    keeper_image = std::move(*image);
    return keeper_image.get();
  }

  [[nodiscard]] std::filesystem::path dir(const std::string& id) const {
    return options.run_dir / "containers" / id;
  }
  [[nodiscard]] std::filesystem::path cgroup(const std::string& id) const {
    return options.cgroup_root / "pids" / "kleene" / id;
  }

  Result<UniqueFd> connect(const std::string& id) const {
    TRY(validate_id(id));
    const std::string path = (dir(id) / "keeper.sock").string();
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
      return make_error(ENAMETOOLONG, "socket path too long: " + path);
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return errno_error("socket");
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return std::unexpected(not_running(id));
    }
    set_timeout(fd.get(), kRequestTimeout);
    return fd;
  }

  // Send one request and read the answer; kError answers become errors.
  Result<std::string> request(const std::string& id, const std::string& frame,
                              UniqueFd* keep = nullptr) const {
    UniqueFd fd = TRY(connect(id));
    if (!protocol::write_all(fd.get(), frame)) return std::unexpected(not_running(id));
    auto body = protocol::read_frame(fd.get());
    if (!body) return std::unexpected(not_running(id));
    Reader r(*body);
    if (r.type() == protocol::kError) return std::unexpected(protocol::decode_error(r));
    if (keep != nullptr) *keep = std::move(fd);
    return body;
  }

  Result<ContainerState> spawn_keeper(const ContainerSpec& spec);
  void remove_leftovers(const std::string& id) const {
    std::error_code ec;
    std::filesystem::remove_all(dir(id), ec);
    ::rmdir(cgroup(id).c_str());
  }
};

Runtime::Runtime(RuntimeOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

Runtime::~Runtime() = default;

Result<ContainerState> Runtime::Impl::spawn_keeper(const ContainerSpec& spec) {
  std::error_code ec;
  const auto containers = options.run_dir / "containers";
  std::filesystem::create_directories(containers, ec);
  if (ec) return make_error(ec.value(), "create " + containers.string() + ": " + ec.message());
  ::chmod(containers.c_str(), 0700);
  remove_leftovers(spec.id);
  if (::mkdir(dir(spec.id).c_str(), 0700) != 0)
    return errno_error("mkdir " + dir(spec.id).string());

  const std::string path = options.keeper_path.string();
  if (::access(path.c_str(), X_OK) != 0) return errno_error("the keeper " + path);
  // The keeper runs as root beside every container: a file others can write is a way to root.
  if (auto refused = util::untrusted_file(options.keeper_path, "the keeper is not run"))
    return std::unexpected(*refused);
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return errno_error("socketpair");
  }
  UniqueFd ours(pair[0]);
  UniqueFd theirs = TRY(high_fd(UniqueFd(pair[1])));
  UniqueFd devnull = TRY(high_fd(UniqueFd(::open("/dev/null", O_RDWR | O_CLOEXEC))));
  const char* argv[] = {path.c_str(), spec.id.c_str(), nullptr};
  const int image = sealed_keeper();  // >= kHighFd when there is one (high_fd)

  // Double fork: the keeper is reparented away from kleened, in its own session, so neither
  // kleened's exit nor its signals reach it. Only async-signal-safe calls in the children, and
  // _Fork (no atfork handlers): kleened has other threads.
  const pid_t pid = ::_Fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    if (::setsid() < 0) ::_exit(1);
    const pid_t keeper = ::_Fork();
    if (keeper != 0) ::_exit(keeper < 0 ? 1 : 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::dup2(devnull.get(), 0) < 0 || ::dup2(devnull.get(), 1) < 0 ||
        ::dup2(devnull.get(), 2) < 0 || ::dup2(theirs.get(), 3) < 0) {
      ::_exit(1);
    }
    if (image >= 4) {  // keep the sealed copy open for the execveat (it is close-on-exec)
      ::syscall(SYS_close_range, 4U, static_cast<unsigned>(image) - 1, 0);
      ::syscall(SYS_close_range, static_cast<unsigned>(image) + 1, ~0U, 0);
    } else {
      ::syscall(SYS_close_range, 4U, ~0U, 0);
    }
    // kleened's environment: what exec.noclean executions inherit (as from jail(8)).
    if (image >= 4)
      ::syscall(SYS_execveat, image, "", const_cast<char* const*>(argv), environ, AT_EMPTY_PATH);
    ::execve(argv[0], const_cast<char* const*>(argv), environ);
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  theirs.reset();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return make_error(EIO, "could not start the keeper " + path);
  }
  set_timeout(ours.get(), kStartTimeout);
  protocol::StartRequest start{spec, dir(spec.id).string(), options.cgroup_root.string()};
  TRY(protocol::write_all(ours.get(), protocol::encode_start(start)));
  auto body = protocol::read_frame(ours.get());
  if (!body) {
    return make_error(EIO,
                      "the keeper " + path + " exited during the start of container " + spec.id);
  }
  Reader r(*body);
  const auto type = r.type();
  if (type == protocol::kError) return std::unexpected(protocol::decode_error(r));
  ContainerState state;
  state.id = r.str();
  state.init_pid = r.i32();
  state.keeper_pid = r.i32();
  if (type != protocol::kStateReply || !r.at_end()) {
    return make_error(EPROTO, "keeper protocol: malformed start answer");
  }
  return state;
}

Result<ContainerState> Runtime::start(const ContainerSpec& spec, const BeforeRun& before_run) {
  TRY(validate_id(spec.id));
  {
    std::lock_guard lock(impl_->mutex);
    if (!impl_->starting.insert(spec.id).second) {
      return make_error(EEXIST, "container " + spec.id + " is already starting");
    }
  }
  struct Done {
    Impl& impl;
    const std::string& id;
    ~Done() {
      std::lock_guard lock(impl.mutex);
      impl.starting.erase(id);
    }
  } done{*impl_, spec.id};

  if (state(spec.id)) return make_error(EEXIST, "container " + spec.id + " is already running");
  auto state = impl_->spawn_keeper(spec);
  if (!state) {
    impl_->remove_leftovers(spec.id);
    return state;
  }
  if (before_run) {
    if (auto hooked = before_run(*state); !hooked) {
      (void)stop(spec.id, std::chrono::milliseconds(0));
      return std::unexpected(hooked.error());
    }
  }
  return state;
}

Result<std::unique_ptr<Execution>> Runtime::exec(const std::string& container_id,
                                                 const ProcessSpec& process, bool attach) {
  Writer w(protocol::kExec);
  protocol::put(w, process);
  w.u8(attach ? 1 : 0);
  UniqueFd fd;
  const std::string answer = TRY(impl_->request(container_id, w.frame(), &fd));
  if (!attach) return std::unique_ptr<Execution>();
  // kOk and the init's pid; a keeper from before kleened asked for it answers kOk alone.
  Reader r(answer);
  (void)r.type();
  const pid_t init_pid = r.at_end() ? 0 : r.i32();
  // The stream has no deadline: a process may stay silent for as long as it likes.
  timeval none{0, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
  return std::make_unique<KeeperExecution>(std::move(fd), r.ok() ? init_pid : 0);
}

Result<void> Runtime::stop_exec(const std::string& container_id, const std::string& exec_id,
                                bool force) {
  TRY(impl_->request(container_id, Writer(protocol::kStopExec).str(exec_id).u8(force).frame()));
  return {};
}

Result<void> Runtime::stop(const std::string& container_id, std::chrono::milliseconds timeout) {
  auto current = state(container_id);
  if (!current) return std::unexpected(not_running(container_id));
  UniqueFd keeper(static_cast<int>(::syscall(SYS_pidfd_open, current->keeper_pid, 0)));
  auto asked = impl_->request(container_id, Writer(protocol::kStop).i64(timeout.count()).frame());
  if (!asked && asked.error().code != ENOENT) return std::unexpected(asked.error());
  if (keeper) {
    // The keeper exits once the container is gone and cleaned up.
    pollfd pfd{keeper.get(), POLLIN, 0};
    const auto wait = timeout + kStopGrace;
    int ready;
    do {
      ready = ::poll(&pfd, 1, static_cast<int>(wait.count()));
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) {
      ::syscall(SYS_pidfd_send_signal, keeper.get(), SIGKILL, nullptr, 0);
      (void)::poll(&pfd, 1, 5000);
      impl_->remove_leftovers(container_id);
      return make_error(ETIMEDOUT, "the keeper of container " + container_id +
                                       " did not stop in time and was killed");
    }
  }
  return {};
}

std::optional<ContainerState> Runtime::state(const std::string& container_id) {
  auto body = impl_->request(container_id, Writer(protocol::kState).frame());
  if (!body) return std::nullopt;
  Reader r(*body);
  if (r.type() != protocol::kStateReply) return std::nullopt;
  ContainerState state;
  state.id = r.str();
  state.init_pid = r.i32();
  state.keeper_pid = r.i32();
  if (!r.at_end()) return std::nullopt;
  return state;
}

std::vector<ContainerState> Runtime::adopt() {
  std::vector<ContainerState> running;
  std::error_code ec;
  for (const auto& entry :
       std::filesystem::directory_iterator(impl_->options.run_dir / "containers", ec)) {
    const std::string id = entry.path().filename().string();
    if (auto s = state(id)) {
      running.push_back(std::move(*s));
      continue;
    }
    std::lock_guard lock(impl_->mutex);
    if (!impl_->starting.contains(id) && validate_id(id)) impl_->remove_leftovers(id);
  }
  return running;
}

Result<void> Runtime::update(const std::string& container_id, const JailParams& params) {
  Writer w(protocol::kUpdate);
  protocol::put(w, params);
  TRY(impl_->request(container_id, w.frame()));
  return {};
}

}  // namespace kleene::runtime
