// kleened's HTTP/1.1 + WebSocket server on Boost.Asio/Beast: unix, TCP and TLS listeners,
// keep-alive, limits and timeouts. Handlers run on a handler pool, WebSocket handlers on a
// thread each, so a slow handler never stalls the I/O threads. Beast stays out of this header.
#pragma once

#include <chrono>
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
