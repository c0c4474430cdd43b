// The keeper's event loop: requests on keeper.sock, SIGCHLD (executions and the init), the
// stop timer, and every execution's stdio and client connection. Level-triggered poll over a
// set rebuilt each round: a handful of fds, and interest follows the state directly.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "container.hpp"

namespace kleene::keeper {

namespace {

using protocol::Reader;
using protocol::Writer;

constexpr std::size_t kChunk = 16 * 1024;
constexpr std::size_t kMaxBuffered = 256 * 1024;  // per execution, each direction
constexpr std::size_t kMaxFinalDrain = 1024 * 1024;

void reply(int fd, const std::string& frame) {
  (void)protocol::write_all(fd, frame);
}

void reply_error(int fd, int code, const std::string& message) {
  reply(fd, protocol::encode_error(Error{code, message}));
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

void set_nonblocking(int fd) {
  const int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

enum class Slot { listen, signal, timer, output, input, client };

}  // namespace

void Keeper::send_init(char message, char arg, bool with_arg) {
  if (init_gone_ || !control_) return;
  const char packet[2] = {message, arg};
  (void)::send(control_.get(), packet, with_arg ? 2 : 1, MSG_NOSIGNAL);
}

bool Keeper::init_ending() {
  if (init_gone_ || !control_) return true;
  const char check = kInitCheck;
  if (::send(control_.get(), &check, 1, MSG_NOSIGNAL) != 1) return true;
  char answer = 0;
  ssize_t n;
  do {
    n = ::recv(control_.get(), &answer, 1, 0);
  } while (n < 0 && errno == EINTR);
  return n != 1 || answer != kInitAlive;
}

void Keeper::begin_stop(std::chrono::milliseconds timeout) {
  if (stopping_ || init_gone_) return;
  stopping_ = true;
  log("stopping (timeout %lld ms)", static_cast<long long>(timeout.count()));
  if (timeout.count() <= 0) {
    send_init(kInitKill);
    return;
  }
  send_init(kInitTerm);
  itimerspec spec{};
  spec.it_value.tv_sec = timeout.count() / 1000;
  spec.it_value.tv_nsec = (timeout.count() % 1000) * 1000000;
  ::timerfd_settime(timer_fd_.get(), 0, &spec, nullptr);
}

void Keeper::on_signal() {
  signalfd_siginfo info;
  bool child = false;
  while (::read(signal_fd_.get(), &info, sizeof info) == sizeof info) {
    if (info.ssi_signo == SIGCHLD) child = true;
    if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT) {
      begin_stop(std::chrono::seconds(10));
    }
  }
  if (!child) return;
  for (;;) {
    int status = 0;
    const pid_t pid = ::waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    if (pid == init_pid_) {
      init_gone_ = true;
      control_.reset();
      log("the container's init exited");
      continue;
    }
    for (auto& e : executions_) {
      if (e->running && e->pid == pid) on_exec_exit(*e, exit_code(status));
    }
  }
}

void Keeper::on_exec_exit(Execution& e, int code) {
  e.running = false;
  // What the process wrote before it died is in the pipe or pty: drain it (bounded: an
  // orphan may keep writing), then let go of the stdio; orphans holding it get EPIPE/SIGHUP.
  std::size_t drained = 0;
  while (e.client && !e.output_eof && e.output_fd() >= 0 && drained < kMaxFinalDrain) {
    const std::size_t before = e.out_buf.size();
    on_output(e);
    if (e.out_buf.size() == before) break;  // EAGAIN or EOF
    drained += e.out_buf.size() - before;
  }
  e.stdio = Stdio{};
  e.stdin_buf.clear();
  // During a stop the container ends with every execution it kills.
  const bool ended = init_ending() || stopping_;
  log("execution %s exited with %d%s", e.id.c_str(), code, ended ? ", container ends" : "");
  if (e.client) {
    e.out_buf += Writer(protocol::kExit).i32(code).u8(ended ? 1 : 0).frame();
  }
  e.exit_queued = true;
}

void Keeper::on_output(Execution& e) {
  char buf[kChunk];
  const ssize_t n = ::read(e.output_fd(), buf, sizeof buf);
  if (n > 0) {
    if (e.client) e.out_buf += Writer(protocol::kOutput).str({buf, static_cast<size_t>(n)}).frame();
    return;
  }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  // EOF (pipe) or EIO (pty: no slave left).
  e.output_eof = true;
  if (!e.stdio.tty) e.stdio.out_read.reset();
}

void Keeper::drop_client(Execution& e) {
  e.client.reset();
  e.client_in.clear();
  e.out_buf.clear();
}

void Keeper::flush_client(Execution& e) {
  while (!e.out_buf.empty()) {
    const ssize_t n =
        ::send(e.client.get(), e.out_buf.data(), e.out_buf.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN) drop_client(e);
      return;
    }
    e.out_buf.erase(0, static_cast<size_t>(n));
  }
  if (e.exit_queued) drop_client(e);
}

void Keeper::on_client_input(Execution& e) {
  char buf[kChunk];
  const ssize_t n = ::recv(e.client.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    // kleened let go: the process keeps running, its output is discarded.
    log("execution %s: client disconnected", e.id.c_str());
    drop_client(e);
    return;
  }
  e.client_in.append(buf, static_cast<size_t>(n));
  for (;;) {
    auto frame = protocol::take_frame(e.client_in);
    if (!frame) {
      drop_client(e);
      return;
    }
    if (!*frame) break;
    Reader r(**frame);
    switch (r.type()) {
      case protocol::kStdin: {
        const std::string data = r.str();
        if (e.running && e.input_fd() >= 0 && !e.close_stdin) e.stdin_buf += data;
        break;
      }
      case protocol::kCloseStdin:
        e.close_stdin = true;
        break;
      case protocol::kResize: {
        winsize ws{};
        ws.ws_row = r.u16();
        ws.ws_col = r.u16();
        if (e.stdio.tty && e.stdio.master && r.ok()) ::ioctl(e.stdio.master.get(), TIOCSWINSZ, &ws);
        break;
      }
      default:
        break;
    }
  }
  write_stdin(e);
}

void Keeper::write_stdin(Execution& e) {
  const int fd = e.input_fd();
  while (fd >= 0 && !e.stdin_buf.empty()) {
    const ssize_t n = ::write(fd, e.stdin_buf.data(), e.stdin_buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) return;
      e.stdin_buf.clear();  // the reader is gone
      break;
    }
    e.stdin_buf.erase(0, static_cast<size_t>(n));
  }
  if (!e.close_stdin || !e.stdin_buf.empty() || fd < 0) return;
  if (e.stdio.tty) {
    // End of input on a terminal: the EOF character, as a user's Ctrl-D.
    const char eof = 0x04;
    (void)!::write(fd, &eof, 1);
  } else {
    e.stdio.in_write.reset();
  }
  e.close_stdin = false;
}

void Keeper::on_accept() {
  for (;;) {
    UniqueFd conn(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return;
    // A request is one small frame from kleened; do not let a stuck peer hold the keeper.
    timeval tv{2, 0};
    ::setsockopt(conn.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(conn.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    on_request(std::move(conn));
  }
}

void Keeper::on_request(UniqueFd conn) {
  auto body = protocol::read_frame(conn.get());
  if (!body) return;
  Reader r(*body);
  switch (r.type()) {
    case protocol::kState:
      reply(conn.get(), state_frame());
      return;
    case protocol::kExec:
      on_exec_request(std::move(conn), r);
      return;
    case protocol::kStopExec: {
      const std::string id = r.str();
      const bool force = r.u8() != 0;
      for (auto& e : executions_) {
        if (e->running && e->id == id) {
          const int sig = force ? SIGKILL : SIGTERM;
          ::kill(-e->pid, sig);
          ::kill(e->pid, sig);
          reply(conn.get(), Writer(protocol::kOk).frame());
          return;
        }
      }
      reply_error(conn.get(), ENOENT, "execution " + id + " is not running");
      return;
    }
    case protocol::kStop: {
      const auto timeout = std::chrono::milliseconds(r.i64());
      reply(conn.get(), Writer(protocol::kOk).frame());
      stop_waiters_.push_back(std::move(conn));
      begin_stop(timeout);
      return;
    }
    case protocol::kUpdate: {
      auto params = protocol::get_params(r);
      if (!r.ok()) {
        reply_error(conn.get(), EPROTO, "keeper protocol: malformed update");
        return;
      }
      if (params.persist != request_.spec.params.persist) {
        send_init(kInitPersist, params.persist ? 1 : 0, true);
      }
      request_.spec.params = std::move(params);
      reply(conn.get(), Writer(protocol::kOk).frame());
      return;
    }
    default:
      reply_error(conn.get(), EPROTO, "keeper protocol: unknown request");
  }
}

void Keeper::on_exec_request(UniqueFd conn, Reader& r) {
  auto process = protocol::get_process(r);
  const bool attach = r.u8() != 0;
  if (!r.at_end()) return reply_error(conn.get(), EPROTO, "keeper protocol: malformed exec");
  if (stopping_ || init_gone_) {
    return reply_error(conn.get(), ENOENT, "container " + request_.spec.id + " is not running");
  }
  for (const auto& e : executions_) {
    if (e->running && e->id == process.exec_id) {
      return reply_error(conn.get(), EEXIST, "execution " + process.exec_id + " is running");
    }
  }
  auto e = std::make_unique<Execution>();
  auto pid = spawn_execution(process, request_.spec.params, handles_, e->stdio);
  if (!pid) return reply_error(conn.get(), pid.error().code, pid.error().message);
  e->id = process.exec_id;
  e->pid = *pid;
  log("execution %s started, pid %d", e->id.c_str(), e->pid);
  if (e->stdio.master) set_nonblocking(e->stdio.master.get());
  if (e->stdio.out_read) set_nonblocking(e->stdio.out_read.get());
  if (e->stdio.in_write) set_nonblocking(e->stdio.in_write.get());
  // The init's pid: kleened settles the container's end against it, without asking state.
  reply(conn.get(), Writer(protocol::kOk).i32(init_pid_).frame());
  if (attach) {
    set_nonblocking(conn.get());
    e->client = std::move(conn);
  } else {
    e->stdio.in_write.reset();  // detached: stdin at end of file, output drained and dropped
  }
  executions_.push_back(std::move(e));
}

void Keeper::run() {
  std::vector<pollfd> fds;
  std::vector<std::pair<Slot, Execution*>> slots;
  auto add = [&](int fd, short events, Slot slot, Execution* e = nullptr) {
    fds.push_back({fd, events, 0});
    slots.emplace_back(slot, e);
  };
  for (;;) {
    std::erase_if(executions_, [](const auto& e) { return !e->running && !e->client; });
    if (init_gone_ && executions_.empty()) break;
    fds.clear();
    slots.clear();
    if (!init_gone_) add(listen_fd_.get(), POLLIN, Slot::listen);
    add(signal_fd_.get(), POLLIN, Slot::signal);
    if (stopping_) add(timer_fd_.get(), POLLIN, Slot::timer);
    for (auto& ptr : executions_) {
      Execution& e = *ptr;
      short out_events = 0;
      if (e.running && !e.output_eof && e.output_fd() >= 0 && e.out_buf.size() < kMaxBuffered) {
        out_events = POLLIN;
      }
      if (!e.stdin_buf.empty() && e.input_fd() >= 0) {
        if (e.stdio.tty && !e.output_eof) {
          out_events |= POLLOUT;
        } else if (!e.stdio.tty) {
          add(e.input_fd(), POLLOUT, Slot::input, &e);
        } else {
          e.stdin_buf.clear();
        }
      }
      if (out_events) add(e.output_fd(), out_events, Slot::output, &e);
      if (e.client) {
        short events = e.out_buf.empty() ? 0 : POLLOUT;
        if (!e.exit_queued && e.stdin_buf.size() < kMaxBuffered) events |= POLLIN;
        add(e.client.get(), events, Slot::client, &e);
      }
    }
    // Once the container is gone, a client that does not read gets 5 s, then is dropped.
    const int timeout = init_gone_ ? 5000 : -1;
    const int ready = ::poll(fds.data(), fds.size(), timeout);
    if (ready < 0 && errno != EINTR) break;
    if (ready == 0) {
      for (auto& e : executions_)
        drop_client(*e);
      continue;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      const short rev = fds[i].revents;
      if (rev == 0) continue;
      auto [slot, e] = slots[i];
      switch (slot) {
        case Slot::listen:
          on_accept();
          break;
        case Slot::signal:
          on_signal();
          break;
        case Slot::timer: {
          std::uint64_t ticks;
          if (::read(timer_fd_.get(), &ticks, sizeof ticks) > 0) send_init(kInitKill);
          break;
        }
        case Slot::output:
          if (!e->running) break;  // reaped meanwhile (by on_signal above): already drained
          if (rev & (POLLIN | POLLHUP | POLLERR)) on_output(*e);
          if (rev & POLLOUT) write_stdin(*e);
          break;
        case Slot::input:
          if (e->running) write_stdin(*e);
          break;
        case Slot::client:
          if (!e->client) break;
          if (rev & POLLOUT) flush_client(*e);
          if (e->client && (rev & (POLLIN | POLLHUP | POLLERR))) on_client_input(*e);
          break;
      }
    }
  }
  log("container %s ended", request_.spec.id.c_str());
}

}  // namespace kleene::keeper
