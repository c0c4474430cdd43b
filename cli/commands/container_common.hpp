// What the container and exec commands share: Kleene's spec parsers (-m, -p), the
// ContainerConfig built from create/run options, the `container ls` rows, the exit line of an
// execution, and container creation and start as klee does them. Internal to klee.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/variables_map.hpp>
#include <nlohmann/json.hpp>

#include "commands/context.hpp"
#include "util/error.hpp"

namespace klee {

// Kleene's exit code for an unusable mount spec (klee's decode_mount exits 125).
inline constexpr int kBadMountSpecExit = 125;

// `SRC:DEST[:ro|rw]` -> MountPointConfig: a SRC starting with `/` is a host path (nullfs),
// anything else a volume name. The error message is Kleene's ("invalid mount format ...").
[[nodiscard]] kleene::Result<nlohmann::json> parse_mount(std::string_view spec);

// `HOST_PORT[:CONTAINER_PORT][/PROTOCOL]` or `INTERFACE:HOST_PORT:CONTAINER_PORT[/PROTOCOL]`
// -> PublishedPortConfig (protocol tcp by default). Error: "could not decode port to publish:
// <spec>" (Kleene's; klee exits 1).
[[nodiscard]] kleene::Result<nlohmann::json> parse_publish(std::string_view spec);

// The exit code in a closing message: "... exited with exit-code N" (either of Kleene's two
// sentences). nullopt when the message has none.
[[nodiscard]] std::optional<int> parse_exit_code(std::string_view message);

// The options of `create` and `run` (Kleene's container_create_options, plus --name and
// --publish) and of the execution commands (`-d -i -t`).
void add_container_create_options(boost::program_options::options_description& desc);
void add_exec_options(boost::program_options::options_description& desc);

// Values of repeatable options (empty when not given).
[[nodiscard]] std::vector<std::string> multi(const boost::program_options::variables_map& vm,
                                             const std::string& name);
// A string option's value, nullopt when it was not given.
[[nodiscard]] std::optional<std::string> optional_string(
    const boost::program_options::variables_map& vm, const std::string& name);

// The network part of create/run: Kleene's defaults (no network and no driver: `host`; a
// network without a driver: `ipnet`), and `--network host` meaning the host driver.
struct NetworkChoice {
  std::string driver;
  std::optional<std::string> network;  // to connect to after creation
  std::optional<std::string> ip, ip6;
};
[[nodiscard]] kleene::Result<NetworkChoice> network_choice(
    const boost::program_options::variables_map& vm);

// The ContainerConfig sent to POST /containers/create. A usage problem (bad mount or publish
// spec, bad --restart) is returned as an error whose code is the exit code.
[[nodiscard]] kleene::Result<nlohmann::json> container_config(
    const boost::program_options::variables_map& vm, const std::string& image,
    const std::vector<std::string>& command, const std::string& name);

// A random `adjective_name` like Kleene's klee gives unnamed containers.
[[nodiscard]] std::string random_container_name();

// One `klee container ls` row from a ContainerSummary: CONTAINER ID, NAME, IMAGE, COMMAND,
// CREATED, AUTORUN, STATUS, JID.
[[nodiscard]] Row container_row(const nlohmann::json& summary);
[[nodiscard]] const std::vector<Column>& container_columns();

// Creates the container from the IMAGE and COMMAND arguments and the options (and connects it
// to its network) and prints its id; the outcome is the id or the exit code after the error
// was printed.
[[nodiscard]] Outcome<std::string> create_container(
    const Context& ctx, const boost::program_options::variables_map& vm);

// Kleene's _start: an execution of the containers' own command in each container (starting
// them), attached unless `detach` (only one container can be attached).
struct ExecFlags {
  bool detach = false;
  bool interactive = false;
  bool tty = false;
};
[[nodiscard]] ExecFlags exec_flags(const boost::program_options::variables_map& vm);
int start_containers(const Context& ctx, ExecFlags flags, const std::vector<std::string>& ids);

// POST /containers/{id}/stop for each id, printing the ids (unless `silent`); the first
// failure is printed and ends the loop. Returns the exit code.
int stop_containers(const Context& ctx, const std::vector<std::string>& ids, bool silent = false);

}  // namespace klee
