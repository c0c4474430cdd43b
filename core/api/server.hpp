// kleened's HTTP/1.1 + WebSocket server on Boost.Asio/Beast: unix, TCP and TLS listeners,
// keep-alive, limits and timeouts. Handlers run on a handler pool, WebSocket handlers on a
// thread each, so a slow handler never stalls the I/O threads. An idle connection costs a
// socket and a little memory, no thread; connections and WebSocket sessions are capped so a
// flood of either cannot exhaust descriptors or threads. Beast stays out of this header.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "api/router.hpp"
#include "config/config.hpp"
#include "util/error.hpp"

namespace kleene::api {

struct ServerOptions {
  std::vector<config::ListenSocket> sockets;
  uint64_t max_request_body = 8 * 1024 * 1024;
  uint32_t max_header_bytes = 64 * 1024;
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);       // keep-alive wait
  std::chrono::milliseconds request_timeout = std::chrono::seconds(120);   // header+body arrival
  std::chrono::milliseconds handshake_timeout = std::chrono::seconds(30);  // TLS and WebSocket
  // A WebSocket with nothing from the client for this long is closed (pings keep a live
  // client's connection open while the handler waits on it).
  std::chrono::milliseconds websocket_idle_timeout = std::chrono::seconds(300);
  // Connections open at once (HTTP and WebSocket alike; RLIMIT_NOFILE is 20000 and each
  // container's work needs descriptors too). One more is closed at once, after a 503 on plain
  // HTTP; the open ones are not affected.
  std::size_t max_connections = 1024;
  // WebSocket sessions at once (each runs its handler on a thread of its own, for its life):
  // an upgrade beyond it is answered 503 "too many WebSocket sessions".
  std::size_t max_websocket_sessions = 256;
  std::chrono::milliseconds shutdown_grace = std::chrono::seconds(10);
  unsigned io_threads = 2;
  unsigned handler_threads = 16;
  // When no handler has run for this long, the memory that malloc keeps free is given back to
  // the system (malloc_trim): an image import or build leaves MiBs of freed buffers behind.
  std::chrono::milliseconds idle_trim_delay = std::chrono::seconds(1);
};

class Server {
 public:
  // The router must outlive the server.
  Server(const Router& router, ServerOptions options);
  ~Server();  // stop()s
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Bind every socket (a stale unix socket file is replaced only if nothing listens on it;
  // new ones are mode 0600), load TLS contexts, start the threads. On error nothing is left
  // listening and the message names the address.
  Result<void> start();

  // Actual URLs, in configuration order: a TCP port 0 shows the kernel's choice.
  std::vector<std::string> listening() const;

  // Stop accepting, let in-flight requests finish (up to shutdown_grace), close connections,
  // remove the unix socket files this server created, join the threads. Idempotent.
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kleene::api
