// Socket addresses in Kleene's URL form, and log levels.
#include <arpa/inet.h>

#include <charconv>
#include <string>

#include "config/config.hpp"

namespace kleene::config {
namespace {

std::unexpected<Error> bad(std::string_view address, std::string_view why) {
  return make_error(EINVAL, "invalid address '" + std::string(address) + "': " + std::string(why));
}

Result<uint16_t> parse_port(std::string_view address, std::string_view text) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value > 65535)
    return bad(address, "port must be a number 0-65535");
  return static_cast<uint16_t>(value);
}

Result<Endpoint> parse_tcp(std::string_view address, std::string_view rest) {
  // Kleene strips a root path from TCP addresses ("http://1.2.3.4:80/").
  if (rest.ends_with('/')) rest.remove_suffix(1);
  TcpAddress tcp;
  std::string_view port_text;
  if (rest.starts_with('[')) {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return bad(address, "missing ']' after IPv6 address");
    tcp.host = std::string(rest.substr(1, close - 1));
    tcp.v6 = true;
    rest.remove_prefix(close + 1);
    if (!rest.starts_with(':')) return bad(address, "a TCP address needs a port ([IPv6]:PORT)");
    port_text = rest.substr(1);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos)
      return bad(address, "a TCP address needs a port (IP:PORT)");
    tcp.host = std::string(rest.substr(0, colon));
    port_text = rest.substr(colon + 1);
  }
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(tcp.v6 ? AF_INET6 : AF_INET, tcp.host.c_str(), buf) != 1)
    return bad(address, tcp.v6 ? "not a numeric IPv6 address" : "not a numeric IPv4 address");
  tcp.port = TRY(parse_port(address, port_text));
  return tcp;
}

}  // namespace

Result<ListenSocket> parse_address(std::string_view address) {
  ListenSocket socket;
  socket.address = std::string(address);
  std::string_view rest = address;
  if (rest.starts_with("https://")) {
    socket.tls = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return bad(address, "must start with http:// or https://");
  }
  if (rest.find_first_of("?#@") != std::string_view::npos)
    return bad(address, "user info, query and fragment are not allowed");
  if (rest.starts_with('/')) {
    if (rest.size() < 2 || rest.ends_with('/'))
      return bad(address, "unix socket path is a directory");
    socket.endpoint = UnixAddress{std::filesystem::path(rest)};
    return socket;
  }
  if (rest.empty()) return bad(address, "no host or unix socket path");
  socket.endpoint = TRY(parse_tcp(address, rest));
  return socket;
}

std::string to_url(const Endpoint& endpoint, bool tls) {
  std::string url = tls ? "https://" : "http://";
  if (const auto* unix_address = std::get_if<UnixAddress>(&endpoint)) {
    return url + unix_address->path.string();
  }
  const auto& tcp = std::get<TcpAddress>(endpoint);
  url += tcp.v6 ? "[" + tcp.host + "]" : tcp.host;
  return url + ":" + std::to_string(tcp.port);
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::notice:
      return "notice";
    case LogLevel::warning:
      return "warning";
    case LogLevel::error:
      return "error";
    case LogLevel::critical:
      return "critical";
  }
  return "info";
}

std::optional<LogLevel> parse_log_level(std::string_view text) {
  if (text == "debug") return LogLevel::debug;
  if (text == "info") return LogLevel::info;
  if (text == "notice") return LogLevel::notice;
  if (text == "warning" || text == "warn") return LogLevel::warning;
  if (text == "error") return LogLevel::error;
  // Kleene (Elixir's Logger) also knows these; all of them mean "only the worst".
  if (text == "critical" || text == "alert" || text == "emergency") return LogLevel::critical;
  return std::nullopt;
}

}  // namespace kleene::config
