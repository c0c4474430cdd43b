// Containers as kleened keeps them (Kleene's Container schema), their configuration as the API
// receives it (ContainerConfig), and their table in the store. A container's running state is
// never stored: it comes from its keeper (runtime::Runtime::state).
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/json_body.hpp"
#include "volume/volume.hpp"

namespace kleene::store {
class Store;
}

namespace kleene::container {

struct Container {
  std::string id;
  std::string name;
  std::string image_id;
  std::vector<std::string> cmd;         // resolved at create: the config's, else the image's
  std::string user;                     // as configured; "" = exec.jail_user, else the image's
  std::vector<std::string> env;         // image env merged with the config's (Kleene)
  std::vector<std::string> jail_param;  // as given, "name[=value]"
  bool persist = false;                 // not removed by prune
  std::string restart_policy = "no";    // "no" | "on-startup"
  std::string network_driver = "ipnet";
  nlohmann::json public_ports = nlohmann::json::array();
  std::string dataset;
  std::string created;
};

// Kleene's Container schema; `running` from the runtime.
nlohmann::json to_json(const Container& container, bool running);

// A mount of the configuration (Kleene's MountPointConfig), checked.
struct MountConfig {
  std::string type;  // "volume" | "nullfs"
  std::string source;
  std::string destination;  // absolute, normalised
  bool read_only = false;
};

// ContainerConfig. For update, a missing or null field is nullopt ("do not change").
struct ContainerConfig {
  std::optional<std::string> name;
  std::optional<std::string> image;
  std::optional<std::vector<std::string>> cmd;
  std::optional<std::string> user;
  std::optional<std::vector<std::string>> env;
  std::optional<std::vector<MountConfig>> mounts;
  std::optional<std::vector<std::string>> jail_param;
  std::optional<bool> persist;
  std::optional<std::string> restart_policy;
  std::optional<std::string> network_driver;
  std::optional<nlohmann::json> public_ports;
};

// A field that failed validation: where (JSON pointer) and why. Becomes Kleene's 422.
// A body problem as OpenApiSpex reports it (JSON pointer + message).
using ConfigError = util::BodyError;

// Types and enums of every field (OpenApiSpex's checks); not the semantic checks below.
std::expected<ContainerConfig, ConfigError> parse_config(const nlohmann::json& body);

// Kleene's container name rule: /?[a-zA-Z0-9][a-zA-Z0-9_.-]+ (a leading '/' is dropped), at
// most 64 characters. Returns the name without '/', or EINVAL with Kleene's message.
Result<std::string> check_name(std::string_view name);

// MountPointConfig: type volume|nullfs; an absolute destination (normalised lexically: '.' and
// '..' resolved, never above '/'; not '/' itself); volume: a valid volume name; nullfs: an
// absolute host path that exists. Duplicate destinations are refused. EINVAL with the reason.
Result<void> check_mounts(std::vector<MountConfig>& mounts);
// Lexical normalisation of an absolute path; nullopt if relative or empty.
std::optional<std::string> normalise_absolute(std::string_view path);

// Docker's "-m SRC:DEST[:ro|rw]" is parsed by klee; the daemon only sees MountPointConfig.

// Environments ("KEY=VALUE") merge with kleene::merge_env (util/strings.hpp).

// Who runs an execution: exec user > container user > exec.jail_user > image user.
std::string effective_user(std::string_view exec_user, std::string_view container_user,
                           std::string_view jail_user, std::string_view image_user);
// What runs: exec cmd > container cmd > image cmd.
std::vector<std::string> effective_cmd(const std::vector<std::string>& exec_cmd,
                                       const std::vector<std::string>& container_cmd,
                                       const std::vector<std::string>& image_cmd);

// CRUD on the containers and mounts tables.
class ContainerRepository {
 public:
  explicit ContainerRepository(store::Store& store) : store_(store) {}
  // The row and its mount rows in one transaction. EEXIST "container name 'x' is already in
  // use" when the name is taken. A non-empty `build_id` marks it a build container in the same
  // transaction (see build_containers).
  Result<void> insert(const Container& container, const std::vector<volume::MountPoint>& mounts,
                      std::string_view build_id = {});
  Result<Container> get(std::string_view id);
  Result<std::vector<Container>> list();  // newest first
  // Exact id, exact name, unique id prefix; ENOENT "no such container: x", ENOTUNIQ.
  Result<Container> resolve(std::string_view id_or_name);
  // Every column but id, image_id, dataset and created. EEXIST on a taken name.
  Result<void> update(const Container& container);
  Result<void> remove(std::string_view id);  // mount rows go with it (ON DELETE CASCADE)
  Result<std::vector<volume::MountPoint>> mounts(std::string_view id);
  // Kleene's EndPoint objects of the container (networks attach them; none before).
  Result<nlohmann::json> endpoints(std::string_view id);
  // Names of images (id -> "name", "tag") for listings.
  Result<std::pair<std::string, std::string>> image_nametag(std::string_view image_id);
  // Build containers (a build's steps run in them), marked with their row when the build makes
  // them; the mark goes with the row. Those left by a kleened that died mid-build, at start.
  Result<std::vector<std::string>> build_containers();

 private:
  store::Store& store_;
};

}  // namespace kleene::container
