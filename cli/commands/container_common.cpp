#include "commands/container_common.hpp"

#include <array>
#include <random>

#include <boost/beast/http/verb.hpp>
#include <boost/program_options/value_semantic.hpp>

#include "commands/exec_attach.hpp"
#include "commands/image_volume_common.hpp"
#include "commands/registry.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

std::vector<std::string> split(std::string_view text, char sep) {
  std::vector<std::string> parts;
  for (;;) {
    const auto at = text.find(sep);
    parts.emplace_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

kleene::Result<void> usage_problem(int exit_code, std::string message) {
  return kleene::make_error(exit_code, std::move(message));
}

}  // namespace

kleene::Result<nlohmann::json> parse_mount(std::string_view spec) {
  const auto sections = split(spec, ':');
  const std::string quoted = "invalid mount format '" + std::string(spec) + "'. ";
  if (sections.size() > 3) {
    return kleene::make_error(kBadMountSpecExit, quoted + "Max 3 elements seperated by ':'.");
  }
  if (sections.size() < 2) {
    return kleene::make_error(kBadMountSpecExit,
                              quoted + "Must have at least 2 elements seperated by ':'.");
  }
  if (sections.size() == 3 && sections[2] != "ro" && sections[2] != "rw") {
    return kleene::make_error(kBadMountSpecExit,
                              quoted + "Last element should be either 'ro' or 'rw'.");
  }
  // Kleene leaves empty parts to kleened; an empty source or destination can only fail there,
  // so say so here with the same exit code.
  if (sections[0].empty() || sections[1].empty()) {
    return kleene::make_error(kBadMountSpecExit,
                              quoted + "Source and destination must not be empty.");
  }
  return nlohmann::json{
      {"type", sections[0].starts_with('/') ? "nullfs" : "volume"},
      {"source", sections[0]},
      {"destination", sections[1]},
      {"read_only", sections.size() == 3 && sections[2] == "ro"},
  };
}

kleene::Result<nlohmann::json> parse_publish(std::string_view spec) {
  const auto error = [&] {
    return kleene::make_error(1, "could not decode port to publish: " + std::string(spec));
  };
  const auto by_slash = split(spec, '/');
  if (by_slash.size() > 2) return error();
  const std::string protocol = by_slash.size() == 2 ? by_slash[1] : "tcp";
  const auto ports = split(by_slash[0], ':');
  nlohmann::json interfaces = nlohmann::json::array();
  std::string host_port, container_port;
  if (ports.size() == 3) {
    interfaces.push_back(ports[0]);
    host_port = ports[1];
    container_port = ports[2];
  } else if (ports.size() == 2) {
    host_port = ports[0];
    container_port = ports[1];
  } else if (ports.size() == 1) {
    host_port = container_port = ports[0];
  } else {
    return error();
  }
  if (host_port.empty() || container_port.empty() || protocol.empty()) return error();
  return nlohmann::json{{"interfaces", interfaces},
                        {"host_port", host_port},
                        {"container_port", container_port},
                        {"protocol", protocol}};
}

std::optional<int> parse_exit_code(std::string_view message) {
  static constexpr std::string_view kMarker = "exited with exit-code ";
  const auto at = message.rfind(kMarker);
  if (at == std::string_view::npos) return std::nullopt;
  auto digits = message.substr(at + kMarker.size());
  while (!digits.empty() && (digits.back() == '\n' || digits.back() == ' '))
    digits.remove_suffix(1);
  const bool negative = digits.starts_with('-');
  if (negative) digits.remove_prefix(1);
  if (digits.empty() || digits.size() > 9) return std::nullopt;
  int value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  return negative ? -value : value;
}

void add_container_create_options(po::options_description& desc) {
  auto text = [] { return po::value<std::string>()->value_name("TEXT"); };
  auto list = [] { return po::value<std::vector<std::string>>()->value_name("list"); };
  desc.add_options()("name", text(), "Assign a name to the container")(
      "user,u", text(),
      "Default user that run commands in the container. This parameter will be overwritten by "
      "the jail parameter `exec.jail_user` if it is set.")(
      "env,e", list(),
      "Set environment variables (e.g. `--env FIRST=SomeValue --env SECOND=AnotherValue`)")(
      "mount,m", list(),
      "Mount a volume/directory/file on the host filesystem into the container. Mounts are "
      "specfied by `--mount SOURCE:DESTINATION[:rw|ro]`.")(
      "jailparam,J", list(),
      "Set jail parameters. Replace defaults (such as 'mount.devfs', 'exec.clean', etc.) by "
      "specifying alternative values. See docs for details.")(
      "persist,P", po::bool_switch(), "Do not remove this container when pruning")(
      "restart", po::value<std::string>()->default_value("no")->value_name("TEXT"),
      "Restarting policy of the container. Set to 'no' for no automatic restart of the "
      "container. Set to 'on-startup' to start the container each time Kleened is.")(
      "driver,l", text(),
      "Network driver of the container. Possible values: 'ipnet', 'host', 'vnet', and "
      "'disabled'. If no `network` and no `driver` is supplied, the network driver is set to "
      "'host'. If a `network` is set but no `driver`, it is set to 'ipnet'.")(
      "network-driver", text(), "Same as --driver.")(
      "network,n", text(),
      "Connect container to a network. `--network host` means `--driver host`.")(
      "ip", text(),
      "IPv4 address used for the container. If omitted, an unused ip is allocated from the IPv4 "
      "subnet of `network`.")(
      "ip6", text(),
      "IPv6 address used for the container. If omitted, an unused ip is allocated from the IPv6 "
      "subnet of `network`.")(
      "publish,p", list(),
      "Publish ports using the syntax HOST_PORT[:CONTAINER_PORT][/PROTOCOL] or "
      "INTERFACE:HOST_PORT:CONTAINER_PORT[/PROTOCOL]. CONTAINER_PORT defaults to HOST_PORT and "
      "PROTOCOL defaults to 'tcp'.");
}

void add_exec_options(po::options_description& desc) {
  desc.add_options()("detach,d", po::bool_switch(),
                     "Do not output STDOUT/STDERR to the terminal. If this is set, Klee will exit "
                     "and return the container ID when the container has started.")(
      "interactive,i", po::bool_switch(),
      "Send terminal input to container's STDIN. If set, `detach` will be ignored.")(
      "tty,t", po::bool_switch(), "Allocate a pseudo-TTY");
}

std::vector<std::string> multi(const po::variables_map& vm, const std::string& name) {
  if (vm.count(name) == 0) return {};
  return vm[name].as<std::vector<std::string>>();
}

std::optional<std::string> optional_string(const po::variables_map& vm, const std::string& name) {
  if (vm.count(name) == 0 || vm[name].defaulted()) return std::nullopt;
  return vm[name].as<std::string>();
}

kleene::Result<NetworkChoice> network_choice(const po::variables_map& vm) {
  NetworkChoice choice;
  auto driver = optional_string(vm, "driver");
  auto spelled = optional_string(vm, "network-driver");
  if (driver && spelled && *driver != *spelled) {
    return kleene::make_error(2, "Error: --driver and --network-driver name different drivers.");
  }
  if (!driver) driver = spelled;
  choice.network = optional_string(vm, "network");
  if (choice.network == "host") {  // Kleene's docs and Docker: the host's network stack
    if (driver && *driver != "host") {
      return kleene::make_error(
          2, "Error: '--network host' cannot be combined with driver '" + *driver + "'.");
    }
    choice.network.reset();
    driver = "host";
  }
  if (!driver) driver = choice.network ? "ipnet" : "host";
  choice.driver = *driver;
  choice.ip = optional_string(vm, "ip");
  choice.ip6 = optional_string(vm, "ip6");
  return choice;
}

kleene::Result<nlohmann::json> container_config(const po::variables_map& vm,
                                                const std::string& image,
                                                const std::vector<std::string>& command,
                                                const std::string& name) {
  nlohmann::json mounts = nlohmann::json::array();
  for (const auto& spec : multi(vm, "mount"))
    mounts.push_back(TRY(parse_mount(spec)));
  nlohmann::json ports = nlohmann::json::array();
  for (const auto& spec : multi(vm, "publish"))
    ports.push_back(TRY(parse_publish(spec)));
  const auto restart = vm["restart"].as<std::string>();
  if (restart != "no" && restart != "on-startup") {
    TRY(usage_problem(2, "Error: Invalid value for '--restart': '" + restart +
                             "' is not one of 'no', 'on-startup'."));
  }
  const auto network = TRY(network_choice(vm));
  return nlohmann::json{
      {"name", name},
      {"image", image},
      {"cmd", command},
      {"user", optional_string(vm, "user").value_or("")},
      {"env", multi(vm, "env")},
      {"mounts", mounts},
      {"jail_param", multi(vm, "jailparam")},
      {"persist", vm["persist"].as<bool>()},
      {"restart_policy", restart},
      {"network_driver", network.driver},
      {"public_ports", ports},
  };
}

std::string random_container_name() {
  static constexpr std::array<std::string_view, 24> kAdjectives = {
      "brave", "calm",   "clever", "eager",  "fancy",   "gentle", "happy",  "jolly",
      "keen",  "lively", "lucid",  "merry",  "nimble",  "noble",  "plucky", "quiet",
      "rapid", "shiny",  "silent", "steady", "sublime", "swift",  "tender", "witty"};
  static constexpr std::array<std::string_view, 24> kNames = {
      "babbage", "bohr",    "curie",   "darwin", "dijkstra", "euler",    "fermat",  "gauss",
      "hopper",  "hypatia", "kleene",  "knuth",  "lamarr",   "lovelace", "meitner", "noether",
      "pascal",  "ritchie", "shannon", "tesla",  "thompson", "turing",   "wiles",   "wozniak"};
  std::random_device seed;
  std::mt19937 gen(seed());
  std::uniform_int_distribution<std::size_t> a(0, kAdjectives.size() - 1), n(0, kNames.size() - 1);
  return std::string(kAdjectives[a(gen)]) + "_" + std::string(kNames[n(gen)]);
}

const std::vector<Column>& container_columns() {
  // Kleene's CONTAINER_LIST_COLUMNS: cyan, bold aquamarine1, blue, bright_white (at most 40
  // wide), bright_white, bright_white centred, (status colour), white.
  static const std::vector<Column> columns = {
      {.header = "CONTAINER ID", .min_width = 13, .style = "36"},
      {.header = "NAME", .style = "1;38;5;122"},
      {.header = "IMAGE", .style = "34"},
      {.header = "COMMAND", .max_width = 40, .style = "97"},
      {.header = "CREATED", .style = "97"},
      {.header = "AUTORUN", .justify = Justify::center, .style = "97"},
      {.header = "STATUS"},
      {.header = "JID", .style = "37"},
  };
  return columns;
}

Row container_row(const nlohmann::json& c) {
  std::string command;
  if (auto it = c.find("cmd"); it != c.end() && it->is_array()) {
    for (const auto& word : *it) {
      if (!command.empty()) command += " ";
      if (word.is_string()) command += word.get<std::string>();
    }
  }
  const auto name = string_field(c, "image_name");
  const auto image =
      name.empty() ? string_field(c, "image_id") : name + ":" + string_field(c, "image_tag");
  const bool running = c.value("running", false);
  std::string jid;
  if (auto it = c.find("jid"); it != c.end() && it->is_number_integer()) {
    jid = std::to_string(it->get<long long>());
  }
  return {string_field(c, "id"),
          string_field(c, "name"),
          image,
          command,
          created_ago(c),
          string_field(c, "restart_policy") == "on-startup" ? "yes" : "no",
          running ? "running" : "stopped",
          jid};
}

Outcome<std::string> create_container(const Context& ctx, const po::variables_map& vm) {
  const auto image = positional(vm, "IMAGE");
  const auto command = positionals(vm, "COMMAND");
  const auto given = optional_string(vm, "name").value_or("");
  auto network = network_choice(vm);  // valid when container_config is
  // An unnamed container gets a random name; when it is taken, another one (with a number
  // added after the first tries, as the 576 pairs run out), as Docker does.
  constexpr int kNameAttempts = 8;
  std::optional<HttpResponse> response;
  for (int attempt = 0; attempt < kNameAttempts; ++attempt) {
    std::string name = given;
    if (name.empty()) {
      name = random_container_name();
      if (attempt >= 2)
        name += std::to_string(attempt * 1000 + static_cast<int>(std::random_device{}() % 1000));
    }
    auto config = container_config(vm, image, command, name);
    if (!config) {
      ctx.err << config.error().message << std::endl;
      return std::unexpected(config.error().code);
    }
    // Kept for what follows (run: the network, the exec create and its start).
    auto sent = ctx.client.request({.method = boost::beast::http::verb::post,
                                    .target = "/containers/create",
                                    .body = config->dump(),
                                    .keep_connection = true});
    if (!sent) return std::unexpected(ctx.fail(sent.error()));
    response = std::move(*sent);
    if (!given.empty() || response->status != 409 ||
        response->error_message().find("already in use") == std::string::npos)
      break;
  }
  if (response->status != 201) {
    ctx.err << "could not create container: " << response->error_message() << std::endl;
    return std::unexpected(1);
  }
  auto body = response->json();
  if (!body || !body->is_object() || !body->contains("id") || !(*body)["id"].is_string()) {
    return std::unexpected(ctx.fail(
        kleene::Error{kProtocolError, "Error! Unexpected response received from Kleened."}));
  }
  const auto id = (*body)["id"].get<std::string>();
  ctx.out << id << "\n" << std::flush;
  if (network->network) {
    nlohmann::json endpoint = {{"container", id},
                               {"network", *network->network},
                               {"ip_address", network->ip.value_or("<auto>")}};
    if (network->ip6) endpoint["ip_address6"] = *network->ip6;
    auto connected = ctx.client.request({.method = boost::beast::http::verb::post,
                                         .target = "/networks/connect",
                                         .body = endpoint.dump(),
                                         .keep_connection = true});
    if (!connected) return std::unexpected(ctx.fail(connected.error()));
    if (connected->status != 204) {
      ctx.err << "could not connect container: " << connected->error_message() << std::endl;
      return std::unexpected(1);
    }
  }
  return id;
}

ExecFlags exec_flags(const po::variables_map& vm) {
  ExecFlags flags{.detach = vm["detach"].as<bool>(),
                  .interactive = vm["interactive"].as<bool>(),
                  .tty = vm["tty"].as<bool>()};
  if (flags.interactive) flags.detach = false;  // Kleene: `-i` wins over `-d`
  return flags;
}

int start_containers(const Context& ctx, ExecFlags flags, const std::vector<std::string>& ids) {
  if (!flags.detach && ids.size() != 1) {
    ctx.err << "only one container can be started when attaching to container I/O." << std::endl;
    return 1;
  }
  int rc = 0;
  for (const auto& id : ids) {
    rc = run_execution(ctx, {.container = id,
                             .tty = flags.tty,
                             .interactive = flags.interactive,
                             .detach = flags.detach});
    if (flags.detach && rc != 0) return rc;
  }
  return rc;
}

int stop_containers(const Context& ctx, const std::vector<std::string>& ids, bool silent) {
  for (const auto& id : ids) {
    auto body = ctx.call_json({.method = boost::beast::http::verb::post,
                               .target = "/containers/" + url_escape(id) + "/stop"},
                              {200});
    if (!body) return body.error();
    if (silent) continue;
    if (int rc = print_id(ctx, *body); rc != 0) return rc;
  }
  return 0;
}

}  // namespace klee
