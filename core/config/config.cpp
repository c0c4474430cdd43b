// Parsing kleened's YAML config with yaml-cpp into DaemonConfig.
#include "config/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <yaml-cpp/yaml.h>

#include "config/yaml_json.hpp"

#ifndef KLEENE_DEFAULT_SOCKET
#define KLEENE_DEFAULT_SOCKET "/var/run/kleened.sock"
#endif
#ifndef KLEENE_PLUGIN_INSTALL_DIR
#define KLEENE_PLUGIN_INSTALL_DIR "/usr/local/lib/kleene/plugins"
#endif

namespace kleene::config {
namespace {

namespace fs = std::filesystem;

// Kleene keys for FreeBSD's pf and older layouts: accepted so a Kleene config loads.
const std::set<std::string, std::less<>> kIgnoredKeys = {
    "pf_config_path", "pf_config_template_path", "base_layer_dataset"};

class Parser {
 public:
  explicit Parser(const fs::path& source) : source_(source.string()) {}

  std::unexpected<Error> fail(std::string_view key, std::string_view message) const {
    std::string text = "config " + source_ + ": ";
    if (!key.empty()) text += std::string(key) + ": ";
    return make_error(EINVAL, text + std::string(message));
  }

  Result<std::string> string_of(const YAML::Node& node, std::string_view key) const {
    if (!node.IsScalar()) return fail(key, "expected a string");
    return node.Scalar();
  }

  Result<bool> bool_of(const YAML::Node& node, std::string_view key) const {
    bool value = false;
    // A quoted "true" is a string in YAML; Kleene's parser would not take it as a boolean.
    if (!node.IsScalar() || node.Tag() == "!" || !YAML::convert<bool>::decode(node, value))
      return fail(key, "expected a boolean (true or false)");
    return value;
  }

  Result<uint64_t> size_of(const YAML::Node& node, std::string_view key) const {
    uint64_t value = 0;
    const std::string text = node.IsScalar() ? node.Scalar() : std::string();
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0)
      return fail(key, "expected a positive number of bytes");
    return value;
  }

  Result<fs::path> absolute_path_of(const YAML::Node& node, std::string_view key) const {
    std::string text = TRY(string_of(node, key));
    if (text.empty() || text.front() != '/') return fail(key, "expected an absolute path");
    return fs::path(text).lexically_normal();
  }

  // A TLS file must exist and be readable now, not at the first client's handshake.
  Result<fs::path> readable_file_of(const YAML::Node& node, std::string_view key) const {
    std::string text = TRY(string_of(node, key));
    if (text.empty()) return fail(key, "expected a file path");
    fs::path path = fs::absolute(fs::path(text)).lexically_normal();
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(key, "cannot read " + path.string() + ": " + std::strerror(errno));
    struct stat st {};
    const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    ::close(fd);
    if (!regular) return fail(key, "cannot read " + path.string() + ": not a regular file");
    return path;
  }

  Result<ListenSocket> socket_of(const YAML::Node& node, const std::string& key) const {
    if (node.IsScalar()) {  // shorthand: "- http:///var/run/kleened.sock"
      auto socket = parse_address(node.Scalar());
      if (!socket) return fail(key, socket.error().message);
      // An https:// address needs its certificate and key (found by fuzz_config: accepted
      // here, it failed later when kleened made the TLS context).
      if (socket->tls)
        return fail(key + ".tlscert",
                    "required for an https:// address (use a map with "
                    "'address', 'tlscert' and 'tlskey')");
      return socket;
    }
    if (!node.IsMap()) return fail(key, "expected a map with 'address' or an address string");
    std::optional<YAML::Node> address_node;
    for (const auto& item : node) {
      const std::string name = item.first.as<std::string>();
      if (name == "address")
        address_node.emplace(item.second);
      else if (name != "tlscert" && name != "tlskey" && name != "tlscacert" && name != "tlsdh" &&
               name != "tlsverify")
        return fail(key + "." + name, "unknown key");
    }
    if (!address_node || address_node->IsNull())
      return fail(key + ".address", "missing (every socket needs an address)");
    const std::string address = TRY(string_of(*address_node, key + ".address"));
    auto parsed = parse_address(address);
    if (!parsed) return fail(key + ".address", parsed.error().message);
    ListenSocket socket = std::move(*parsed);
    TRY(tls_of(node, key, socket));
    return socket;
  }

  Result<void> tls_of(const YAML::Node& node, const std::string& key, ListenSocket& socket) const {
    TlsOptions& tls = socket.tls_options;
    if (const auto verify = node["tlsverify"]; verify && !verify.IsNull())
      tls.verify = TRY(bool_of(verify, key + ".tlsverify"));
    if (!socket.tls) {
      // Other tls* keys are harmless on http (Kleene ignores them); asking for verification
      // without TLS is a misunderstanding worth stopping for.
      if (tls.verify) return fail(key + ".tlsverify", "requires an https:// address");
      return {};
    }
    const std::pair<const char*, fs::path*> files[] = {{"tlscert", &tls.cert},
                                                       {"tlskey", &tls.key},
                                                       {"tlscacert", &tls.cacert},
                                                       {"tlsdh", &tls.dh}};
    for (const auto& [name, target] : files) {
      if (const auto value = node[name]; value && !value.IsNull())
        *target = TRY(readable_file_of(value, key + "." + name));
    }
    if (tls.cert.empty()) return fail(key + ".tlscert", "required for an https:// address");
    if (tls.key.empty()) return fail(key + ".tlskey", "required for an https:// address");
    if (tls.verify && tls.cacert.empty())
      return fail(key + ".tlscacert", "required when tlsverify is true");
    return {};
  }

  Result<void> sockets_of(const YAML::Node& node, DaemonConfig& config) const {
    const std::string key = "api_listening_sockets";
    if (!node.IsSequence()) return fail(key, "expected a list of sockets");
    if (node.size() == 0) return fail(key, "at least one socket is required");
    config.api_listening_sockets.clear();
    std::set<std::string> seen;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const std::string item_key = key + "[" + std::to_string(i) + "]";
      ListenSocket socket = TRY(socket_of(node[i], item_key));
      if (!seen.insert(to_url(socket.endpoint, false)).second)
        return fail(item_key, "duplicate address " + socket.address);
      config.api_listening_sockets.push_back(std::move(socket));
    }
    return {};
  }

  Result<void> plugin_dirs_of(const YAML::Node& node, DaemonConfig& config) const {
    if (!node.IsSequence()) return fail("plugin_dirs", "expected a list of directories");
    config.plugin_dirs.clear();
    for (std::size_t i = 0; i < node.size(); ++i)
      config.plugin_dirs.push_back(
          TRY(absolute_path_of(node[i], "plugin_dirs[" + std::to_string(i) + "]")));
    return {};
  }

  Result<void> plugins_of(const YAML::Node& node, DaemonConfig& config) const {
    if (!node.IsMap()) return fail("plugins", "expected a map of plugin name to its settings");
    config.plugins = nlohmann::json::object();
    for (const auto& item : node) {
      const std::string name = item.first.as<std::string>();
      if (!item.second.IsMap() && !item.second.IsNull())
        return fail("plugins." + name, "expected a map of settings");
      if (item.second.IsNull()) {
        config.plugins[name] = nlohmann::json::object();
        continue;
      }
      auto settings = yaml_to_json(item.second);
      if (!settings) return fail("plugins." + name, settings.error().message);
      config.plugins[name] = std::move(*settings);
    }
    return {};
  }

  // A number of seconds (fractions allowed) from min to max.
  Result<std::chrono::milliseconds> seconds_of(const YAML::Node& value, const std::string& key,
                                               double min, double max) const {
    const std::string text = TRY(string_of(value, key));
    char* end = nullptr;
    const double seconds = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !(seconds >= min) || seconds > max)
      return fail(key, "expected seconds from " + std::to_string(static_cast<long long>(min)) +
                           " to " + std::to_string(static_cast<long long>(max)));
    return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
  }

  Result<void> key_of(const std::string& key, const YAML::Node& value, DaemonConfig& config) const {
    if (key == "kleene_root")
      config.kleene_root = TRY(string_of(value, key));
    else if (key == "storage_driver") {
      config.storage_driver = TRY(string_of(value, key));
      if (config.storage_driver.empty()) return fail(key, "expected a plugin name");
    } else if (key == "api_listening_sockets")
      TRY(sockets_of(value, config));
    else if (key == "enable_logging")
      config.enable_logging = TRY(bool_of(value, key));
    else if (key == "log_level") {
      const std::string text = TRY(string_of(value, key));
      auto level = parse_log_level(text);
      if (!level)
        return fail(key, "unknown level '" + text + "' (debug, info, notice, warning, error)");
      config.log_level = *level;
    } else if (key == "plugin_dirs")
      TRY(plugin_dirs_of(value, config));
    else if (key == "plugins")
      TRY(plugins_of(value, config));
    else if (key == "log_file")
      config.log_file = TRY(absolute_path_of(value, key));
    else if (key == "run_dir")
      config.run_dir = TRY(absolute_path_of(value, key));
    else if (key == "pidfile")
      config.pidfile = TRY(absolute_path_of(value, key));
    else if (key == "metadata_db")
      config.metadata_db = TRY(absolute_path_of(value, key));
    else if (key == "max_request_body")
      config.max_request_body = TRY(size_of(value, key));
    else if (key == "plugin_command_timeout")
      config.plugin_command_timeout = TRY(seconds_of(value, key, 1, 86400));
    else if (key == "keeper_path")
      config.keeper_path = TRY(absolute_path_of(value, key));
    else if (key == "stop_timeout")
      config.stop_timeout = TRY(seconds_of(value, key, 0, 3600));
    else if (key == "max_mounted_containers") {
      uint64_t count = 0;
      const std::string text = value.IsScalar() ? value.Scalar() : std::string();
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), count);
      if (text.empty() || ec != std::errc() || end != text.data() + text.size() || count > 100000)
        return fail(key, "expected a number of containers from 0 (no limit) to 100000");
      config.max_mounted_containers = static_cast<unsigned>(count);
    } else if (key == "ip_forwarding")
      config.ip_forwarding = TRY(bool_of(value, key));
    else if (kIgnoredKeys.contains(key))
      config.ignored_keys.push_back(key);
    else
      return fail(key, "unknown key");
    return {};
  }

 private:
  std::string source_;
};

}  // namespace

DaemonConfig default_config() {
  DaemonConfig config;
  config.api_listening_sockets.push_back(
      parse_address(std::string("http://") + KLEENE_DEFAULT_SOCKET).value());
  config.plugin_dirs.emplace_back(KLEENE_PLUGIN_INSTALL_DIR);
  config.keeper_path = KLEENE_KEEPER_PATH;
  return config;
}

Result<DaemonConfig> parse_config(std::string_view yaml, const fs::path& source) {
  Parser parser(source);
  DaemonConfig config = default_config();
  config.source = source;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return parser.fail("", "line " + std::to_string(e.mark.line + 1) + ", column " +
                               std::to_string(e.mark.column + 1) + ": " + e.msg);
  }
  if (!root || root.IsNull()) return config;  // an empty file means all defaults
  if (!root.IsMap()) return parser.fail("", "expected a map of keys at the top level");
  try {
    for (const auto& item : root) {
      if (!item.first.IsScalar()) return parser.fail("", "keys must be strings");
      // A key without a value ("log_level:") keeps its default, like a commented-out line.
      if (item.second.IsNull()) continue;
      TRY(parser.key_of(item.first.Scalar(), item.second, config));
    }
  } catch (const YAML::Exception& e) {
    return parser.fail("", e.what());
  }
  return config;
}

Result<DaemonConfig> load_config(const fs::path& file, bool must_exist) {
  std::ifstream in(file);
  if (!in) {
    const int saved = errno;
    if (saved == ENOENT && !must_exist) return default_config();
    return make_error(saved == ENOENT ? ENOENT : EINVAL,
                      "config " + file.string() + ": cannot read: " + std::strerror(saved));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), file);
}

}  // namespace kleene::config
