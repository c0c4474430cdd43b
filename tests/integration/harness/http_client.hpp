#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "process.hpp"

namespace kleene::it {

// A minimal HTTP/1.1 client over plain sockets, for checking the daemon's raw answers without
// depending on curl or on the klee under test.
struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool connection_closed = false;  // the body ran to the end of the connection

  std::string header(const std::string& name) const;
};

// Connected stream sockets (O_CLOEXEC, 10 s send/receive timeouts); throw on failure.
UniqueFd connect_unix(const std::string& path);
UniqueFd connect_tcp(const std::string& host, uint16_t port);

// Serialises a request with Host, Content-Length (when there is a body) and `headers`.
std::string format_request(const std::string& method, const std::string& target,
                           const std::string& body = "",
                           const std::map<std::string, std::string>& headers = {});

// Writes `request` (tolerating a peer that closes early) and reads one response. Throws when
// no complete response arrives.
HttpResponse exchange(int fd, const std::string& request);

// Whether the peer closes `fd` (EOF or reset, with nothing more to read) within `timeout`.
bool peer_closes(int fd, std::chrono::milliseconds timeout);

// One request on a fresh connection to a unix socket, with "Connection: close".
HttpResponse http_unix(const std::string& socket_path, const std::string& method,
                       const std::string& target, const std::string& body = "",
                       std::map<std::string, std::string> headers = {});

// Parses a complete response; nullopt while `raw` is still incomplete.
std::optional<HttpResponse> parse_response(const std::string& raw);

}  // namespace kleene::it
