// Fuzzes kleened's config file (core/config): parse_config on YAML text (yaml-cpp, then
// Kleene's keys into DaemonConfig, plugin settings through yaml_to_json), load_config on the
// same text written to a file on tmpfs, and parse_address / to_url on each line.
//
// TLS keys name files that the parser opens (to check they are readable regular files). So that
// no input makes the harness open a host file (a FIFO would block, a device node might act), an
// input whose tlscert/tlskey/tlscacert/tlsdh of an api_listening_sockets entry is not below
// kFiles (which holds cert.pem, key.pem, ca.pem, dh.pem and a directory dir/) is skipped.
//
// Invariants, on top of ASan/UBSan (and no uncaught exception, e.g. yaml-cpp's
// TypedBadConversion or nlohmann's type_error):
//   - errors are EINVAL and start "config <file>: ";
//   - load_config of the file says what parse_config said (so parsing is deterministic too);
//   - an accepted config has at least one socket, no two with the same address, each one's
//     to_url parses back to the same endpoint and TLS flag; https has a cert and a key (and a
//     CA when tlsverify), which are regular files; http has no tlsverify;
//   - every path key is absolute and lexically normal, timeouts are within their ranges, the
//     request body cap is positive, plugins is a JSON object, the log level round-trips;
//   - parse_address accepts only http:// and https:// URLs, and what it accepts round-trips
//     through to_url.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>

#include "config/config.hpp"
#include "fuzz_check.hpp"

namespace cfg = kleene::config;
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kFiles = "/dev/shm/kleene-fuzz-config/";

const std::string& config_file() {
  static const std::string file =
      std::string(kFiles) + "load-" + std::to_string(::getpid()) + ".yaml";
  return file;
}

void write_file(const std::string& path, std::string_view text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  KLEENE_FUZZ_CHECK(fd >= 0, "cannot write " + path);
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    KLEENE_FUZZ_CHECK(n > 0, "cannot write " + path);
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
}

// A TLS file value the harness lets the parser open: below kFiles, no "..".
bool safe_tls_value(const std::string& text) {
  return text.starts_with(kFiles) && text.find("..") == std::string::npos;
}

// Mirrors how config.cpp reaches the TLS files: top-level key "api_listening_sockets" (its
// Scalar), a sequence, map items, node[name]. Anything that cannot load cannot open a file.
bool opens_only_safe_files(std::string_view yaml) {
  try {
    const YAML::Node root = YAML::Load(std::string(yaml));
    if (!root.IsMap()) return true;
    for (const auto& item : root) {
      if (!item.first.IsScalar() || item.first.Scalar() != "api_listening_sockets" ||
          !item.second.IsSequence())
        continue;
      const YAML::Node sockets = item.second;
      for (std::size_t i = 0; i < sockets.size(); ++i) {
        const YAML::Node socket = sockets[i];
        if (!socket.IsMap()) continue;
        for (const char* name : {"tlscert", "tlskey", "tlscacert", "tlsdh"}) {
          const YAML::Node value = socket[name];
          if (value && value.IsScalar() && !safe_tls_value(value.Scalar())) return false;
          if (value && !value.IsScalar() && !value.IsNull() && !value.IsMap() &&
              !value.IsSequence())
            return false;
        }
      }
    }
  } catch (const YAML::Exception&) {
    return true;  // parse_config fails the same way before it looks at any key
  }
  return true;
}

bool normal_absolute(const fs::path& path) {
  return path.is_absolute() && path == path.lexically_normal();
}

bool regular_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(fs::symlink_status(path, ec)) && safe_tls_value(path.string());
}

void check_round_trip(const cfg::ListenSocket& socket) {
  const std::string url = cfg::to_url(socket.endpoint, socket.tls);
  auto again = cfg::parse_address(url);
  KLEENE_FUZZ_CHECK(again && again->endpoint == socket.endpoint && again->tls == socket.tls,
                    socket.address + " -> " + url);
}

void check_address(std::string_view text) {
  auto socket = cfg::parse_address(text);
  if (!socket) {
    KLEENE_FUZZ_CHECK(
        socket.error().code == EINVAL && socket.error().message.starts_with("invalid address '"),
        socket.error().message);
    return;
  }
  KLEENE_FUZZ_CHECK(text.starts_with(socket->tls ? "https://" : "http://"), std::string(text));
  KLEENE_FUZZ_CHECK(socket->address == text, socket->address);
  if (const auto* unix_address = std::get_if<cfg::UnixAddress>(&socket->endpoint))
    KLEENE_FUZZ_CHECK(unix_address->path.is_absolute(), unix_address->path.string());
  check_round_trip(*socket);
}

// As the plugin host sends settings to a plugin: invalid UTF-8 (YAML may hold any byte) replaced.
std::string dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// What two parses must agree on.
std::string summary(const kleene::Result<cfg::DaemonConfig>& config) {
  if (!config) return "error " + std::to_string(config.error().code) + " " + config.error().message;
  std::string out =
      config->kleene_root + "|" + config->storage_driver + "|" +
      std::string(cfg::to_string(config->log_level)) + "|" + config->log_file.string() + "|" +
      config->run_dir.string() + "|" + config->pidfile.string() + "|" +
      config->metadata_db.string() + "|" + config->keeper_path.string() + "|" +
      dump(config->plugins) + "|" + std::to_string(config->max_request_body) + "|" +
      std::to_string(config->plugin_command_timeout.count()) + "|" +
      std::to_string(config->stop_timeout.count()) + (config->enable_logging ? "|log" : "|nolog") +
      (config->ip_forwarding ? "|fwd" : "|nofwd");
  for (const auto& socket : config->api_listening_sockets)
    out += "|" + cfg::to_url(socket.endpoint, socket.tls) + " " + socket.tls_options.cert.string() +
           " " + socket.tls_options.key.string() + " " + socket.tls_options.cacert.string() + " " +
           socket.tls_options.dh.string() + (socket.tls_options.verify ? " verify" : "");
  for (const auto& dir : config->plugin_dirs)
    out += "|" + dir.string();
  for (const auto& key : config->ignored_keys)
    out += "|ignored " + key;
  return out;
}

void check_config(const cfg::DaemonConfig& config) {
  KLEENE_FUZZ_CHECK(!config.api_listening_sockets.empty(), "no socket");
  std::set<std::string> addresses;
  for (const auto& socket : config.api_listening_sockets) {
    check_round_trip(socket);
    KLEENE_FUZZ_CHECK(addresses.insert(cfg::to_url(socket.endpoint, false)).second,
                      "duplicate " + socket.address);
    const auto& tls = socket.tls_options;
    if (socket.tls) {
      KLEENE_FUZZ_CHECK(regular_file(tls.cert) && regular_file(tls.key), socket.address);
      KLEENE_FUZZ_CHECK(!tls.verify || regular_file(tls.cacert), socket.address);
      KLEENE_FUZZ_CHECK(tls.dh.empty() || regular_file(tls.dh), socket.address);
    } else {
      KLEENE_FUZZ_CHECK(!tls.verify, "tlsverify on http: " + socket.address);
    }
  }
  for (const auto* path : {&config.log_file, &config.run_dir, &config.pidfile, &config.metadata_db,
                           &config.keeper_path})
    KLEENE_FUZZ_CHECK(normal_absolute(*path), path->string());
  for (const auto& dir : config.plugin_dirs)
    KLEENE_FUZZ_CHECK(normal_absolute(dir), dir.string());
  KLEENE_FUZZ_CHECK(!config.storage_driver.empty(), "storage_driver");
  KLEENE_FUZZ_CHECK(config.plugins.is_object(), dump(config.plugins));
  KLEENE_FUZZ_CHECK(config.max_request_body > 0, "max_request_body");
  KLEENE_FUZZ_CHECK(config.plugin_command_timeout.count() >= 1000 &&
                        config.plugin_command_timeout.count() <= 86'400'000,
                    std::to_string(config.plugin_command_timeout.count()));
  KLEENE_FUZZ_CHECK(config.stop_timeout.count() >= 0 && config.stop_timeout.count() <= 3'600'000,
                    std::to_string(config.stop_timeout.count()));
  KLEENE_FUZZ_CHECK(cfg::parse_log_level(cfg::to_string(config.log_level)) == config.log_level,
                    std::string(cfg::to_string(config.log_level)));
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const std::string dir(kFiles);
  ::mkdir(dir.c_str(), 0700);
  ::mkdir((dir + "dir").c_str(), 0700);
  for (const char* name : {"cert.pem", "key.pem", "ca.pem", "dh.pem"})
    write_file(dir + name, "-----BEGIN FUZZ-----\n");
  std::atexit([] { ::unlink(config_file().c_str()); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (!opens_only_safe_files(text)) return -1;  // not kept in the corpus

  const std::string& file = config_file();
  const auto parsed = cfg::parse_config(text, file);
  const std::string described = summary(parsed);
  if (parsed) {
    check_config(*parsed);
    KLEENE_FUZZ_CHECK(parsed->source == file, parsed->source.string());
  } else {
    KLEENE_FUZZ_CHECK(parsed.error().code == EINVAL &&
                          parsed.error().message.starts_with("config " + file + ": "),
                      parsed.error().message);
  }

  write_file(file, text);
  // The same text again, from the file: also the check that parsing is deterministic.
  const auto loaded = cfg::load_config(file, /*must_exist=*/true);
  KLEENE_FUZZ_CHECK(summary(loaded) == described, summary(loaded) + "\n  vs " + described);

  std::size_t start = 0;
  for (int lines = 0; start <= text.size() && lines < 16; ++lines) {
    const std::size_t end = std::min(text.find('\n', start), text.size());
    check_address(text.substr(start, end - start));
    start = end + 1;
  }
  return 0;
}
