// ContainerConfig as the API receives it, and the rules its fields obey: names, mounts, the
// environment, users and commands.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "container/container.hpp"
#include "network/firewall.hpp"
#include "util/strings.hpp"

namespace kleene::container {

namespace {

constexpr std::size_t kMaxContainerName = 64;
// What one container may publish (docs/api.md, "Limits"): entries, interfaces per entry, and the
// ports of ranges remapped to other container ports (each one element of an nft map), which is
// every port of both protocols once.
constexpr std::size_t kMaxPublicPorts = 1024;
constexpr std::size_t kMaxPortInterfaces = 256;
constexpr std::size_t kMaxRemappedPorts = 2 * 65536;

using util::field;
using util::got;
using util::invalid;

std::expected<std::optional<std::string>, ConfigError> string_field(const nlohmann::json& body,
                                                                    std::string_view name) {
  const auto* value = field(body, name);
  if (value == nullptr) return std::nullopt;
  if (!value->is_string())
    return invalid("/" + std::string(name), "Invalid string. " + got(*value));
  return value->get<std::string>();
}

std::expected<std::optional<std::vector<std::string>>, ConfigError> string_list_field(
    const nlohmann::json& body, std::string_view name) {
  const auto* value = field(body, name);
  if (value == nullptr) return std::nullopt;
  const std::string pointer = "/" + std::string(name);
  if (!value->is_array()) return invalid(pointer, "Invalid array. " + got(*value));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < value->size(); ++i) {
    const auto& item = (*value)[i];
    if (!item.is_string())
      return invalid(pointer + "/" + std::to_string(i), "Invalid string. " + got(item));
    out.push_back(item.get<std::string>());
  }
  return out;
}

// Kleene's PublishedPort: {interfaces: [string], host_port, container_port, protocol}, checked
// as the firewall will read it. Stored unchecked before, a non-string port made every firewall
// reload throw and an unrenderable one kept any ruleset from loading (found by
// fuzz_mount_publish). Returns the entry with only those four keys (OpenApiSpex drops the others
// too) and how many map elements the firewall renders for it: a range whose container ports
// differ from the host's becomes one `dport map` element per port.
struct CheckedPort {
  nlohmann::json entry;
  std::size_t remapped = 0;
};

std::expected<CheckedPort, ConfigError> check_public_port(const nlohmann::json& item,
                                                          const std::string& pointer) {
  if (!item.is_object()) return invalid(pointer, "Invalid object. " + got(item));
  CheckedPort out{nlohmann::json::object()};
  std::string host_port, container_port;
  for (const auto& [key, value] : item.items()) {
    const std::string at = pointer + "/" + key;
    if (key == "interfaces") {
      if (!value.is_array()) return invalid(at, "Invalid array. " + got(value));
      if (value.size() > kMaxPortInterfaces)
        return invalid(at, "at most " + std::to_string(kMaxPortInterfaces) + " interfaces, got " +
                               std::to_string(value.size()));
      for (std::size_t i = 0; i < value.size(); ++i) {
        const auto& name = value[i];
        if (!name.is_string())
          return invalid(at + "/" + std::to_string(i), "Invalid string. " + got(name));
        if (!network::firewall::is_valid_interface_name(name.get<std::string>()))
          return invalid(at + "/" + std::to_string(i),
                         "invalid interface name '" + name.get<std::string>() + "'");
      }
      out.entry[key] = value;
      continue;
    }
    if (key != "host_port" && key != "container_port" && key != "protocol") continue;
    if (!value.is_string()) return invalid(at, "Invalid string. " + got(value));
    const auto text = value.get<std::string>();
    if (key == "protocol" && text != "tcp" && text != "udp")
      return invalid(at, "expected tcp or udp, got '" + text + "'");
    if (key == "host_port") host_port = text;
    if (key == "container_port") container_port = text;
    out.entry[key] = value;
  }
  const auto ports = network::firewall::parse_ports(host_port, container_port);
  if (!ports) return invalid(pointer + "/host_port", ports.error().message);
  const auto& [host, container] = *ports;
  if (host.first != host.last && host.first != container.first)
    out.remapped = std::size_t{host.last} - host.first + 1;
  return out;
}

std::expected<MountConfig, ConfigError> parse_mount(const nlohmann::json& item,
                                                    const std::string& pointer) {
  if (!item.is_object()) return invalid(pointer, "Invalid object. " + got(item));
  MountConfig mount;
  for (std::string_view key : {"type", "source", "destination"}) {
    const auto* value = field(item, key);
    const std::string where = pointer + "/" + std::string(key);
    if (value == nullptr) return invalid(where, "Missing field: " + std::string(key));
    if (!value->is_string()) return invalid(where, "Invalid string. " + got(*value));
    const auto text = value->get<std::string>();
    if (key == "type") mount.type = text;
    if (key == "source") mount.source = text;
    if (key == "destination") mount.destination = text;
  }
  if (mount.type != "volume" && mount.type != "nullfs")
    return invalid(pointer + "/type", "Invalid value for enum");
  if (const auto* ro = field(item, "read_only")) {
    if (!ro->is_boolean()) return invalid(pointer + "/read_only", "Invalid boolean. " + got(*ro));
    mount.read_only = ro->get<bool>();
  }
  return mount;
}

}  // namespace

std::expected<ContainerConfig, ConfigError> parse_config(const nlohmann::json& body) {
  if (!body.is_object()) return invalid("/", "Invalid object. " + got(body));
  ContainerConfig config;
  if (auto v = string_field(body, "name"); !v)
    return std::unexpected(v.error());
  else
    config.name = *v;
  if (auto v = string_field(body, "image"); !v)
    return std::unexpected(v.error());
  else
    config.image = *v;
  if (auto v = string_field(body, "user"); !v)
    return std::unexpected(v.error());
  else
    config.user = *v;
  if (auto v = string_field(body, "restart_policy"); !v)
    return std::unexpected(v.error());
  else
    config.restart_policy = *v;
  if (auto v = string_field(body, "network_driver"); !v)
    return std::unexpected(v.error());
  else
    config.network_driver = *v;
  if (auto v = string_list_field(body, "cmd"); !v)
    return std::unexpected(v.error());
  else
    config.cmd = *v;
  if (auto v = string_list_field(body, "env"); !v)
    return std::unexpected(v.error());
  else
    config.env = *v;
  if (auto v = string_list_field(body, "jail_param"); !v)
    return std::unexpected(v.error());
  else
    config.jail_param = *v;
  if (const auto* persist = field(body, "persist")) {
    if (!persist->is_boolean()) return invalid("/persist", "Invalid boolean. " + got(*persist));
    config.persist = persist->get<bool>();
  }
  if (config.restart_policy && *config.restart_policy != "no" &&
      *config.restart_policy != "on-startup")
    return invalid("/restart_policy", "Invalid value for enum");
  if (const auto* mounts = field(body, "mounts")) {
    if (!mounts->is_array()) return invalid("/mounts", "Invalid array. " + got(*mounts));
    config.mounts.emplace();
    for (std::size_t i = 0; i < mounts->size(); ++i) {
      auto mount = parse_mount((*mounts)[i], "/mounts/" + std::to_string(i));
      if (!mount) return std::unexpected(mount.error());
      config.mounts->push_back(std::move(*mount));
    }
  }
  if (const auto* ports = field(body, "public_ports")) {
    if (!ports->is_array()) return invalid("/public_ports", "Invalid array. " + got(*ports));
    // Bounded, as the firewall renders every container's ports at each reload: a list of a few
    // bytes per entry (and a range remapped to other ports, one element per port) could
    // otherwise turn one 8 MiB body into gigabytes of nft script.
    if (ports->size() > kMaxPublicPorts)
      return invalid("/public_ports", "at most " + std::to_string(kMaxPublicPorts) +
                                          " published ports, got " + std::to_string(ports->size()));
    config.public_ports = nlohmann::json::array();
    std::size_t remapped = 0;
    for (std::size_t i = 0; i < ports->size(); ++i) {
      const std::string pointer = "/public_ports/" + std::to_string(i);
      auto checked = check_public_port((*ports)[i], pointer);
      if (!checked) return std::unexpected(checked.error());
      remapped += checked->remapped;
      if (remapped > kMaxRemappedPorts)
        return invalid(pointer + "/container_port",
                       "ranges published on other container ports cover more than " +
                           std::to_string(kMaxRemappedPorts) + " ports in all");
      config.public_ports->push_back(std::move(checked->entry));
    }
  }
  return config;
}

Result<std::string> check_name(std::string_view name) {
  // Kleene's /?[a-zA-Z0-9][a-zA-Z0-9_.-]+ by hand: std::regex recurses once per character and
  // overflows the stack on a long hostile name (found by tests/fuzz).
  const std::string text(name);
  const std::string bare = !text.empty() && text.front() == '/' ? text.substr(1) : text;
  const auto alnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; };
  const bool matches = bare.size() >= 2 && alnum(bare.front()) &&
                       std::all_of(bare.begin() + 1, bare.end(), [&](char c) {
                         return alnum(c) || c == '_' || c == '.' || c == '-';
                       });
  if (!matches) return make_error(EINVAL, text + " does not match /?[a-zA-Z0-9][a-zA-Z0-9_.-]+$");
  if (bare.size() > kMaxContainerName)
    return make_error(EINVAL, "container name " + text + " is longer than 64 characters");
  return bare;
}

std::optional<std::string> normalise_absolute(std::string_view path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  std::vector<std::string> parts;
  for (auto& part : split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(std::move(part));
  }
  return "/" + join(parts, "/");
}

Result<void> check_mounts(std::vector<MountConfig>& mounts) {
  std::set<std::string> destinations;
  for (auto& mount : mounts) {
    if (mount.destination.find('\0') != std::string::npos ||
        mount.source.find('\0') != std::string::npos)
      return make_error(EINVAL, "invalid mount: NUL character in path");
    auto destination = normalise_absolute(mount.destination);
    if (!destination)
      return make_error(EINVAL,
                        "mount destination '" + mount.destination + "' is not an absolute path");
    if (*destination == "/")
      return make_error(EINVAL, "mount destination cannot be the container's root '/'");
    mount.destination = *destination;
    if (!destinations.insert(mount.destination).second)
      return make_error(EINVAL, "duplicate mount destination '" + mount.destination + "'");
    if (mount.type == "volume") {
      if (!volume::is_valid_volume_name(mount.source))
        return make_error(EINVAL, "invalid volume name '" + mount.source +
                                      "': use letters, digits, '_', '.' and '-', starting with a "
                                      "letter or digit");
    } else if (mount.type == "nullfs") {
      if (mount.source.empty() || mount.source.front() != '/')
        return make_error(EINVAL, "mount source '" + mount.source +
                                      "' must be a volume name or an absolute host path");
      struct stat st {};
      if (::stat(mount.source.c_str(), &st) != 0)
        return make_error(EINVAL, "mount source '" + mount.source + "' does not exist");
      if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
        return make_error(EINVAL, "mount source '" + mount.source +
                                      "' is neither a directory nor a regular file");
    } else {
      return make_error(EINVAL, "invalid mount type '" + mount.type + "': use volume or nullfs");
    }
  }
  return {};
}

std::string effective_user(std::string_view exec_user, std::string_view container_user,
                           std::string_view jail_user, std::string_view image_user) {
  for (auto user : {exec_user, container_user, jail_user, image_user})
    if (!user.empty()) return std::string(user);
  return {};
}

std::vector<std::string> effective_cmd(const std::vector<std::string>& exec_cmd,
                                       const std::vector<std::string>& container_cmd,
                                       const std::vector<std::string>& image_cmd) {
  if (!exec_cmd.empty()) return exec_cmd;
  if (!container_cmd.empty()) return container_cmd;
  return image_cmd;
}

}  // namespace kleene::container
