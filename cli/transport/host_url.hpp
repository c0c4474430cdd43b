// The --host address: where kleened listens and how to talk to it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace klee {

struct HostUrl {
  bool tls = false;          // https:// (TLS) or http://
  bool unix_socket = false;  // true: `path` is a unix socket; false: `host`:`port` over TCP
  std::string path;          // absolute socket path (unix only)
  std::string host;          // IPv4, IPv6 (without brackets) or a name (TCP only)
  std::uint16_t port = 0;    // TCP only
  bool ipv6 = false;         // host was given in brackets

  // The Host header value and what the TLS certificate is checked against.
  [[nodiscard]] std::string authority() const;
  // The URL back in its canonical form, e.g. "http://[::1]:8080", "https:///run/k.sock".
  [[nodiscard]] std::string to_string() const;
};

// Accepts Kleene's forms: `http:///abs/path.sock`, `https:///abs/path.sock`,
// `http://IPv4:PORT`, `http://[IPv6]:PORT`, `https://...`, a host name instead of an IP,
// an omitted port (80/443), and a bare absolute path as shorthand for `http:///path`.
// The error message is what follows "unable to connect to kleened: ".
[[nodiscard]] kleene::Result<HostUrl> parse_host_url(std::string_view text);

}  // namespace klee
