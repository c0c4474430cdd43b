// Listeners and the life cycle of the server.
#include "api/server.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <future>
#include <string_view>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include "api/server_core.hpp"
#include "api/session_start.hpp"
#include "api/tls.hpp"

namespace kleene::api {

using namespace detail;
using tcp = net::ip::tcp;
using local = net::local::stream_protocol;

namespace {

void set_cloexec(int fd) {
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

// Replace a socket file only when no live server answers on it.
Result<void> clear_stale_socket(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};
  if (!S_ISSOCK(st.st_mode))
    return make_error(EEXIST, path.string() + " exists and is not a socket");
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_error(errno, "socket: " + std::string(std::strerror(errno)));
  const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  const int saved = errno;
  ::close(fd);
  if (rc == 0) return make_error(EADDRINUSE, "another process is listening on " + path.string());
  if (saved != ECONNREFUSED && saved != ENOENT)
    return make_error(saved, "cannot check " + path.string() + ": " + std::strerror(saved));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return make_error(errno, "cannot remove stale " + path.string() + ": " + std::strerror(errno));
  return {};
}

// Over max_connections: a fixed 503 without a session. The connection is closed once the
// client has sent its request (read and dropped, 64 KiB at most) or after a second, so that
// the client reads the answer rather than a reset or a broken pipe. At most kMaxRefusals such
// connections linger; beyond them (a flood), and on TLS, the connection is closed at once.
constexpr int kMaxRefusals = 64;
constexpr std::string_view kBusyBody = "{\"message\":\"too many connections\"}";
constexpr std::string_view kBusy =
    "HTTP/1.1 503 Service Unavailable\r\nServer: kleened\r\nContent-Type: "
    "application/json\r\nContent-Length: 34\r\nConnection: close\r\n\r\n"
    "{\"message\":\"too many connections\"}";
static_assert(kBusyBody.size() == 34 && kBusy.ends_with(kBusyBody));

template <class Socket>
class Refusal : public std::enable_shared_from_this<Refusal<Socket>> {
 public:
  Refusal(Socket&& socket, std::atomic<int>& lingering)
      : socket_(std::move(socket)), timer_(socket_.get_executor()), lingering_(lingering) {}
  ~Refusal() { --lingering_; }
  Refusal(const Refusal&) = delete;
  Refusal& operator=(const Refusal&) = delete;

  void run() {
    auto self = this->shared_from_this();
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([self](boost::system::error_code ec) {
      if (!ec) self->socket_.close(self->ignored_);
    });
    net::async_write(socket_, net::buffer(kBusy.data(), kBusy.size()),
                     [self](boost::system::error_code ec, std::size_t) {
                       if (ec) return self->finish();
                       self->socket_.shutdown(net::socket_base::shutdown_send, self->ignored_);
                       self->drain();
                     });
  }

 private:
  void drain() {
    socket_.async_read_some(net::buffer(buffer_), [self = this->shared_from_this()](
                                                      boost::system::error_code ec, std::size_t n) {
      self->drained_ += n;
      if (ec || self->drained_ > 64 * 1024) return self->finish();
      self->drain();
    });
  }
  void finish() {
    timer_.cancel();
    socket_.close(ignored_);
  }

  Socket socket_;
  net::steady_timer timer_;
  std::atomic<int>& lingering_;
  std::array<char, 4096> buffer_{};
  std::size_t drained_ = 0;
  boost::system::error_code ignored_;
};

template <class Socket>
void refuse(ServerCore& core, Socket&& socket, bool tls) {
  if (tls || ++core.refusals > kMaxRefusals) {
    if (!tls) --core.refusals;
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  std::make_shared<Refusal<std::decay_t<Socket>>>(std::move(socket), core.refusals)->run();
}

}  // namespace

struct Server::Impl {
  struct Listener {
    config::ListenSocket socket;
    std::string url;
    std::shared_ptr<net::ssl::context> tls;
    std::unique_ptr<tcp::acceptor> tcp_acceptor;
    std::unique_ptr<local::acceptor> unix_acceptor;
    std::unique_ptr<net::steady_timer> retry_timer;
    ino_t inode = 0;  // of the socket file we created, so stop() removes only ours
    dev_t device = 0;
  };

  Impl(const Router& router, ServerOptions options) : core(router, std::move(options)) {}

  Result<void> bind_unix(Listener& listener, const std::filesystem::path& path) {
    TRY(clear_stale_socket(path));
    auto acceptor = std::make_unique<local::acceptor>(net::make_strand(core.ioc));
    boost::system::error_code ec;
    acceptor->open(local(), ec);
    if (!ec) {
      set_cloexec(acceptor->native_handle());
      // The socket file gets its mode at bind(); a umask is the only race-free way to make
      // it 0600 from the start. chmod after is belt and braces.
      const mode_t old_mask = ::umask(0177);
      acceptor->bind(local::endpoint(path.string()), ec);
      ::umask(old_mask);
    }
    if (ec) return make_error(ec.value(), "bind " + path.string() + ": " + ec.message());
    struct stat st {};
    if (::chmod(path.c_str(), 0600) != 0 || ::stat(path.c_str(), &st) != 0)
      return make_error(errno, "chmod " + path.string() + ": " + std::strerror(errno));
    listener.inode = st.st_ino;
    listener.device = st.st_dev;
    acceptor->listen(net::socket_base::max_listen_connections, ec);
    if (ec) return make_error(ec.value(), "listen " + path.string() + ": " + ec.message());
    listener.unix_acceptor = std::move(acceptor);
    listener.url = config::to_url(listener.socket.endpoint, listener.socket.tls);
    return {};
  }

  Result<void> bind_tcp(Listener& listener, const config::TcpAddress& address) {
    boost::system::error_code ec;
    const auto ip = net::ip::make_address(address.host, ec);
    if (ec) return make_error(EINVAL, "address " + address.host + ": " + ec.message());
    const tcp::endpoint endpoint(ip, address.port);
    auto acceptor = std::make_unique<tcp::acceptor>(net::make_strand(core.ioc));
    acceptor->open(endpoint.protocol(), ec);
    if (!ec) {
      set_cloexec(acceptor->native_handle());
      acceptor->set_option(net::socket_base::reuse_address(true), ec);
      // [::]:port should not also claim 0.0.0.0:port; that can be configured on its own.
      if (address.v6) acceptor->set_option(net::ip::v6_only(true), ec);
      acceptor->bind(endpoint, ec);
    }
    if (!ec) acceptor->listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return make_error(ec.value(), "listen on " + listener.socket.address + ": " + ec.message());
    config::TcpAddress bound = address;
    bound.port = acceptor->local_endpoint().port();
    listener.url = config::to_url(bound, listener.socket.tls);
    listener.tcp_acceptor = std::move(acceptor);
    return {};
  }

  Result<void> bind(Listener& listener) {
    if (listener.socket.tls) {
      auto context = make_tls_context(listener.socket.tls_options);
      if (!context) return std::unexpected(context.error().wrap(listener.socket.address));
      listener.tls = std::move(*context);
    }
    if (const auto* path = std::get_if<config::UnixAddress>(&listener.socket.endpoint))
      return bind_unix(listener, path->path);
    return bind_tcp(listener, std::get<config::TcpAddress>(listener.socket.endpoint));
  }

  template <class Acceptor>
  void accept(Listener& listener, Acceptor& acceptor) {
    acceptor.async_accept(
        net::make_strand(core.ioc),
        [this, &listener, &acceptor](boost::system::error_code ec,
                                     typename Acceptor::protocol_type::socket socket) {
          if (ec == net::error::operation_aborted || core.stopping) return;
          if (ec) {
            // EMFILE and friends: back off instead of spinning.
            spdlog::warn("{}: accept failed: {}", listener.url, ec.message());
            listener.retry_timer = std::make_unique<net::steady_timer>(acceptor.get_executor());
            listener.retry_timer->expires_after(std::chrono::milliseconds(100));
            listener.retry_timer->async_wait([this, &listener, &acceptor](auto wait_ec) {
              if (!wait_ec && !core.stopping) accept(listener, acceptor);
            });
            return;
          }
          set_cloexec(socket.native_handle());
          if (auto slot = core.acquire(Slot::Kind::connection)) {
            if (auto generic = as_generic(socket))
              start_session(core, std::move(*generic), listener.tls.get(), listener.url,
                            std::move(slot));
          } else {
            refuse(core, std::move(socket), listener.tls != nullptr);
          }
          accept(listener, acceptor);
        });
  }

  void close_acceptors() {
    for (auto& listener : listeners) {
      std::promise<void> done;
      auto close = [&] {
        boost::system::error_code ignored;
        if (listener.tcp_acceptor) listener.tcp_acceptor->close(ignored);
        if (listener.unix_acceptor) listener.unix_acceptor->close(ignored);
        if (listener.retry_timer) listener.retry_timer->cancel();
        done.set_value();
      };
      if (threads.empty()) {
        close();
        continue;
      }
      if (listener.tcp_acceptor)
        net::post(listener.tcp_acceptor->get_executor(), close);
      else
        net::post(listener.unix_acceptor->get_executor(), close);
      done.get_future().wait();
    }
  }

  void remove_socket_files() {
    for (auto& listener : listeners) {
      const auto* path = std::get_if<config::UnixAddress>(&listener.socket.endpoint);
      if (!path || listener.inode == 0) continue;
      struct stat st {};
      if (::lstat(path->path.c_str(), &st) == 0 && st.st_ino == listener.inode &&
          st.st_dev == listener.device)
        ::unlink(path->path.c_str());
      listener.inode = 0;
    }
  }

  ServerCore core;
  std::vector<Listener> listeners;
  std::vector<std::thread> threads;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
  bool started = false;
  bool stopped = false;
};

Server::Server(const Router& router, ServerOptions options)
    : impl_(std::make_unique<Impl>(router, std::move(options))) {}

Server::~Server() {
  stop();
}

Result<void> Server::start() {
  Impl& impl = *impl_;
  if (impl.started) return make_error(EALREADY, "server already started");
  impl.started = true;
  impl.listeners.reserve(impl.core.options.sockets.size());
  for (const auto& socket : impl.core.options.sockets) {
    impl.listeners.push_back(Impl::Listener{socket, {}, {}, {}, {}, {}, 0, 0});
    if (auto bound = impl.bind(impl.listeners.back()); !bound) {
      impl.close_acceptors();
      impl.remove_socket_files();
      impl.listeners.clear();
      return bound;
    }
  }
  for (auto& listener : impl.listeners) {
    if (listener.tcp_acceptor)
      impl.accept(listener, *listener.tcp_acceptor);
    else
      impl.accept(listener, *listener.unix_acceptor);
    spdlog::info("listening on {}", listener.url);
    // Whoever reaches the API controls the host (docs/security.md): say so where a
    // configuration lets anyone on the network in.
    if (listener.tcp_acceptor && !listener.socket.tls) {
      spdlog::warn(
          "{} is plain TCP without TLS: anyone who can reach it controls this host "
          "(use https:// with tlsverify)",
          listener.url);
    } else if (listener.tcp_acceptor && !listener.socket.tls_options.verify) {
      spdlog::warn(
          "{} does not check client certificates (tlsverify is off): anyone who can "
          "reach it controls this host",
          listener.url);
    }
  }
  impl.work.emplace(impl.core.ioc.get_executor());
  for (unsigned i = 0; i < std::max(1u, impl.core.options.io_threads); ++i)
    impl.threads.emplace_back([&impl] { impl.core.ioc.run(); });
  return {};
}

std::vector<std::string> Server::listening() const {
  std::vector<std::string> urls;
  for (const auto& listener : impl_->listeners)
    urls.push_back(listener.url);
  return urls;
}

void Server::stop() {
  Impl& impl = *impl_;
  if (!impl.started || impl.stopped) return;
  impl.stopped = true;
  auto& core = impl.core;
  core.stopping = true;
  impl.close_acceptors();
  core.shutdown_sessions();
  const auto grace = core.options.shutdown_grace;
  if (!core.wait_ws_threads(grace))
    spdlog::warn("stopping: websocket handlers still running after {} ms", grace.count());
  core.handler_pool.join();  // in-flight handlers finish; their responses are queued
  impl.work.reset();
  if (!core.wait_sessions_gone(grace)) {
    spdlog::warn("stopping: closing connections that did not finish in {} ms", grace.count());
  }
  core.ioc.stop();
  for (auto& thread : impl.threads)
    thread.join();
  impl.threads.clear();
  impl.remove_socket_files();
}

}  // namespace kleene::api
