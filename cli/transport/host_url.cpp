#include "transport/host_url.hpp"

#include <charconv>

namespace klee {
namespace {

kleene::Result<HostUrl> invalid(std::string_view text, std::string_view why) {
  return kleene::make_error(EINVAL,
                            "invalid host '" + std::string(text) + "': " + std::string(why));
}

kleene::Result<std::uint16_t> parse_port(std::string_view text, std::string_view port) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 ||
      value > 65535) {
    return std::unexpected(invalid(text, "bad port '" + std::string(port) + "'").error());
  }
  return static_cast<std::uint16_t>(value);
}

kleene::Result<HostUrl> parse_tcp(std::string_view text, std::string_view rest, HostUrl url) {
  if (rest.empty()) return invalid(text, "missing host");
  if (rest.find('/') != std::string_view::npos) return invalid(text, "unexpected path after host");
  std::string_view port;
  if (rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return invalid(text, "missing ']' after IPv6 address");
    url.host = std::string(rest.substr(1, close - 1));
    url.ipv6 = true;
    if (url.host.empty()) return invalid(text, "empty IPv6 address");
    auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid(text, "expected ':PORT' after ']'");
      port = after.substr(1);
      if (port.empty()) return invalid(text, "missing port after ':'");
    }
  } else {
    auto colon = rest.find(':');
    if (colon != std::string_view::npos && rest.find(':', colon + 1) != std::string_view::npos) {
      return invalid(text, "IPv6 addresses must be in brackets, e.g. http://[::1]:8080");
    }
    url.host = std::string(rest.substr(0, colon));
    if (url.host.empty()) return invalid(text, "missing host");
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      if (port.empty()) return invalid(text, "missing port after ':'");
    }
  }
  if (port.empty()) {
    url.port = url.tls ? 443 : 80;
  } else {
    url.port = TRY(parse_port(text, port));
  }
  return url;
}

}  // namespace

std::string HostUrl::authority() const {
  if (unix_socket) return "localhost";
  return ipv6 ? "[" + host + "]" : host;
}

std::string HostUrl::to_string() const {
  std::string out = tls ? "https://" : "http://";
  if (unix_socket) return out + path;
  return out + authority() + ":" + std::to_string(port);
}

kleene::Result<HostUrl> parse_host_url(std::string_view text) {
  if (text.empty()) return invalid(text, "empty address");
  HostUrl url;
  if (text.front() == '/') {
    url.unix_socket = true;
    url.path = std::string(text);
    return url;
  }
  auto sep = text.find("://");
  if (sep == std::string_view::npos) return invalid(text, "expected SCHEME://ADDRESS");
  auto scheme = text.substr(0, sep);
  if (scheme == "https") {
    url.tls = true;
  } else if (scheme != "http") {
    // Kleene's wording (httpx) for the same mistake.
    return kleene::make_error(EPROTONOSUPPORT, "Request URL has an unsupported protocol '" +
                                                   std::string(scheme) + "://'.");
  }
  auto rest = text.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) {
    return invalid(text, "query or fragment not allowed");
  }
  if (!rest.empty() && rest.front() == '/') {
    url.unix_socket = true;
    url.path = std::string(rest);
    if (url.path.size() < 2 || url.path.back() == '/') return invalid(text, "missing socket path");
    return url;
  }
  return parse_tcp(text, rest, std::move(url));
}

}  // namespace klee
