// kleened's configuration: Kleene's YAML keys plus ours, parsed into plain structs.
// Every error names the file and the key, e.g.
//   config /etc/kleened/config.yaml: api_listening_sockets[1].tlscert: cannot read /x: ...
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace kleene::config {

struct UnixAddress {
  std::filesystem::path path;
  bool operator==(const UnixAddress&) const = default;
};

struct TcpAddress {
  std::string host;  // numeric, without brackets: "127.0.0.1", "::1"
  uint16_t port = 0;
  bool v6 = false;
  bool operator==(const TcpAddress&) const = default;
};

using Endpoint = std::variant<UnixAddress, TcpAddress>;

struct TlsOptions {
  std::filesystem::path cert;    // tlscert (PEM chain)
  std::filesystem::path key;     // tlskey (PEM)
  std::filesystem::path cacert;  // tlscacert (PEM), required by verify
  std::filesystem::path dh;      // tlsdh (Kleene's optional DH parameters)
  bool verify = false;           // tlsverify: client certificates required and checked
};

struct ListenSocket {
  std::string address;  // as configured, e.g. "https://[::1]:8085"
  Endpoint endpoint;
  bool tls = false;  // https
  TlsOptions tls_options;
};

enum class LogLevel { debug, info, notice, warning, error, critical };
std::string_view to_string(LogLevel level);
std::optional<LogLevel> parse_log_level(std::string_view text);

struct DaemonConfig {
  std::filesystem::path source;  // the file it came from; empty when only defaults apply
  std::string kleene_root = "zroot/kleene";
  std::string storage_driver = "zfs";  // the storage plugin, by name
  std::vector<ListenSocket> api_listening_sockets;
  bool enable_logging = true;
  LogLevel log_level = LogLevel::info;
  std::vector<std::filesystem::path> plugin_dirs;
  nlohmann::json plugins = nlohmann::json::object();  // plugin name -> its create() config
  std::filesystem::path log_file = "/var/log/kleened.log";
  std::filesystem::path run_dir = "/var/run/kleened";
  std::filesystem::path pidfile = "/var/run/kleened.pid";
  std::filesystem::path metadata_db = "/var/lib/kleene/metadata.sqlite";
  uint64_t max_request_body = 8 * 1024 * 1024;
  // How long a host command run by a plugin (zfs, zpool, ...) may take before it is stopped.
  std::chrono::milliseconds plugin_command_timeout{300000};
  // The per-container keeper executable (core/runtime/keeper); default_config() sets the
  // installed one.
  std::filesystem::path keeper_path;
  // Container stop: SIGTERM to every process, SIGKILL after this long (0 = at once).
  std::chrono::milliseconds stop_timeout{10000};
  // Whether kleened may turn on net.ipv4.ip_forward (and net.ipv6.conf.all.forwarding for
  // networks with an IPv6 subnet) when a container attaches to a network. Each change is logged.
  bool ip_forwarding = true;
  // How many container datasets may stay mounted; beyond it the oldest stopped containers are
  // unmounted (mounted again when they start). zfs-fuse mounts ~1000 file systems at most.
  // 0: no limit.
  unsigned max_mounted_containers = 768;
  // Kleene keys that have no meaning on Linux and were present (logged as ignored).
  std::vector<std::string> ignored_keys;
};

// The built-in defaults (one socket http:///var/run/kleened.sock, the install plugin dir).
DaemonConfig default_config();

// Parse one socket address (no TLS options): http[s]:///abs/path.sock, http[s]://IPv4:PORT,
// http[s]://[IPv6]:PORT. Errors are EINVAL with a message naming what is wrong.
Result<ListenSocket> parse_address(std::string_view address);

// The canonical URL of an endpoint, e.g. "http:///run/x.sock", "https://[::1]:8085".
std::string to_url(const Endpoint& endpoint, bool tls);

// Parse YAML text; `source` is only used in messages (and kept in DaemonConfig::source).
Result<DaemonConfig> parse_config(std::string_view yaml, const std::filesystem::path& source);

// Load a file. A missing file is an error only when `must_exist` (an explicit --config);
// otherwise the defaults are returned.
Result<DaemonConfig> load_config(const std::filesystem::path& file, bool must_exist);

}  // namespace kleene::config
