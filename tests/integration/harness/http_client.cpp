#include "http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace kleene::it {

namespace {

std::string lower(std::string s) {
  std::ranges::transform(s, s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

void set_timeouts(int fd) {
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

// Decodes a chunked body; nullopt while incomplete.
std::optional<std::string> dechunk(const std::string& raw) {
  std::string body;
  size_t pos = 0;
  for (;;) {
    size_t eol = raw.find("\r\n", pos);
    if (eol == std::string::npos) return std::nullopt;
    size_t size = std::stoul(raw.substr(pos, eol - pos), nullptr, 16);
    pos = eol + 2;
    if (size == 0) return body;
    if (raw.size() < pos + size + 2) return std::nullopt;
    body += raw.substr(pos, size);
    pos += size + 2;
  }
}

}  // namespace

std::string HttpResponse::header(const std::string& name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? "" : it->second;
}

UniqueFd connect_unix(const std::string& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw std::runtime_error("socket path too long");
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    throw std::system_error(errno, std::generic_category(), "connect " + path);
  }
  set_timeouts(fd.get());
  return fd;
}

UniqueFd connect_tcp(const std::string& host, uint16_t port) {
  sockaddr_storage storage{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&storage);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof *v4;
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof *v6;
  } else {
    throw std::runtime_error("not a numeric address: " + host);
  }
  UniqueFd fd(::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) throw std::system_error(errno, std::generic_category(), "socket");
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&storage), len) != 0) {
    throw std::system_error(errno, std::generic_category(), "connect " + host);
  }
  set_timeouts(fd.get());
  return fd;
}

std::string format_request(const std::string& method, const std::string& target,
                           const std::string& body,
                           const std::map<std::string, std::string>& headers) {
  std::string request = method + " " + target + " HTTP/1.1\r\nHost: localhost\r\n";
  bool has_length = false;
  for (const auto& [name, value] : headers) {
    request += name + ": " + value + "\r\n";
    has_length = has_length || lower(name) == "content-length";
  }
  if (!has_length && (!body.empty() || method == "POST" || method == "PUT")) {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  return request + "\r\n" + body;
}

namespace {

// Status line and headers; nullopt while the head is incomplete. `head_end` is where the body
// starts.
std::optional<HttpResponse> parse_head(const std::string& raw, size_t& body_start) {
  size_t head_end = raw.find("\r\n\r\n");
  if (head_end == std::string::npos) return std::nullopt;
  HttpResponse response;
  size_t line_end = raw.find("\r\n");
  std::string status_line = raw.substr(0, line_end);
  auto sp = status_line.find(' ');
  if (sp == std::string::npos) throw std::runtime_error("bad status line: " + status_line);
  response.status = std::stoi(status_line.substr(sp + 1, 3));
  for (size_t pos = line_end + 2; pos < head_end;) {
    size_t eol = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, eol - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      response.headers[lower(line.substr(0, colon))] = value;
    }
    pos = eol + 2;
  }
  body_start = head_end + 4;
  return response;
}

}  // namespace

std::optional<HttpResponse> parse_response(const std::string& raw) {
  size_t body_start = 0;
  auto response = parse_head(raw, body_start);
  if (!response) return std::nullopt;
  std::string rest = raw.substr(body_start);
  if (lower(response->header("transfer-encoding")) == "chunked") {
    auto body = dechunk(rest);
    if (!body) return std::nullopt;
    response->body = *body;
  } else if (auto length = response->header("content-length"); !length.empty()) {
    size_t n = std::stoul(length);
    if (rest.size() < n) return std::nullopt;
    response->body = rest.substr(0, n);
  } else {
    return std::nullopt;  // the body runs to the end of the connection
  }
  return response;
}

HttpResponse exchange(int fd, const std::string& request) {
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the server may answer (e.g. 413) and close before reading it all
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  for (;;) {
    if (auto complete = parse_response(raw)) return *complete;
    char buffer[16384];
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) {
      raw.append(buffer, static_cast<size_t>(n));
      continue;
    }
    // EOF, or a reset once the peer closed with our unread request bytes: a response without
    // a length runs to here; anything else is truncated.
    int saved = errno;
    size_t body_start = 0;
    auto response = parse_head(raw, body_start);
    bool delimited = response && (!response->header("content-length").empty() ||
                                  !response->header("transfer-encoding").empty());
    if (!response || delimited) {
      throw std::runtime_error("connection ended before a complete response (" +
                               std::to_string(raw.size()) + " bytes received" +
                               (n < 0 ? std::string(", ") + std::strerror(saved) : "") +
                               "): " + raw.substr(0, 300));
    }
    response->body = raw.substr(body_start);
    response->connection_closed = true;
    return *response;
  }
}

bool peer_closes(int fd, std::chrono::milliseconds timeout) {
  pollfd pfd{fd, POLLIN, 0};
  if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char probe = 0;
  ssize_t n = ::recv(fd, &probe, 1, MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno == ECONNRESET);
}

HttpResponse http_unix(const std::string& socket_path, const std::string& method,
                       const std::string& target, const std::string& body,
                       std::map<std::string, std::string> headers) {
  headers.emplace("Connection", "close");
  UniqueFd fd = connect_unix(socket_path);
  return exchange(fd.get(), format_request(method, target, body, headers));
}

}  // namespace kleene::it
