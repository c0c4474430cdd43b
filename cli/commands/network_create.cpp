// klee network create NAME (POST /networks/create): Kleene's NetworkConfig from its options,
// `--gw`/`--gw6` "auto" sent as "<auto>", `--nat` a boolean (`--no-nat` is false too) and
// `--nat-if` the interface NAT'ed to (default "<host-gateway>").
#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/verb.hpp>
#include <boost/program_options/value_semantic.hpp>

#include "commands/all.hpp"
#include "commands/container_common.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

// Click's BOOL type: the values it accepts (case-insensitive, trimmed); nullopt otherwise.
std::optional<bool> click_bool(std::string value) {
  const auto first = value.find_first_not_of(" \t");
  value = first == std::string::npos
              ? std::string()
              : value.substr(first, value.find_last_not_of(" \t") - first + 1);
  std::ranges::transform(value, value.begin(),
                         [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static constexpr std::array<std::string_view, 6> kTrue = {"1", "true", "t", "yes", "y", "on"};
  static constexpr std::array<std::string_view, 6> kFalse = {"0", "false", "f", "no", "n", "off"};
  if (std::ranges::find(kTrue, value) != kTrue.end()) return true;
  if (std::ranges::find(kFalse, value) != kFalse.end()) return false;
  return std::nullopt;
}

// A boolean option's value (`fallback` when absent); a usage error (exit 2) when unreadable.
std::optional<bool> bool_option(const Context& ctx, const po::variables_map& vm,
                                const std::string& name, bool fallback) {
  auto given = optional_string(vm, name);
  if (!given) return fallback;
  auto value = click_bool(*given);
  if (!value) {
    ctx.err << "Error: Invalid value for '--" << name << "': '" << *given
            << "' is not a valid boolean." << std::endl;
  }
  return value;
}

std::string gateway(const po::variables_map& vm, const std::string& name) {
  auto value = vm[name].as<std::string>();
  return value == "auto" ? std::string("<auto>") : value;
}

int run(const Context& ctx, const po::variables_map& vm) {
  const auto type = vm["type"].as<std::string>();
  if (type != "bridge" && type != "loopback" && type != "custom") {
    ctx.err << "Error: Invalid value for '-t' / '--type': '" << type
            << "' is not one of 'bridge', 'loopback', 'custom'." << std::endl;
    return 2;
  }
  auto nat = bool_option(ctx, vm, "nat", true);
  if (!nat) return 2;
  if (vm["no-nat"].as<bool>()) nat = false;
  auto icc = bool_option(ctx, vm, "icc", true);
  if (!icc) return 2;

  nlohmann::json config = {
      {"name", positional(vm, "NAME")},
      {"type", type},
      {"interface", vm["interface"].as<std::string>()},
      {"subnet", vm["subnet"].as<std::string>()},
      {"subnet6", vm["subnet6"].as<std::string>()},
      {"gateway", gateway(vm, "gw")},
      {"gateway6", gateway(vm, "gw6")},
      {"nat", *nat ? optional_string(vm, "nat-if").value_or("<host-gateway>") : std::string()},
      {"icc", *icc},
      {"internal", vm["internal"].as<bool>()},
  };
  auto body = ctx.call_json({.method = boost::beast::http::verb::post,
                             .target = "/networks/create",
                             .body = config.dump()},
                            {201});
  if (!body) return body.error();
  return print_id(ctx, *body);
}

void options(po::options_description& desc) {
  auto text = [](const char* fallback) {
    return po::value<std::string>()->default_value(fallback)->value_name("TEXT");
  };
  desc.add_options()(
      "type,t", po::value<std::string>()->default_value("loopback")->value_name("TEXT"),
      "What kind of network should be created. Possible values are 'bridge', 'loopback', and "
      "'custom'.")(
      "interface,i", text(""),
      "Name of the interface used on the host for the network. If not set the interface name "
      "is set to 'kleened' postfixed with an integer. If `type` is set to 'custom' the value of "
      "`interface` must be the name of an existing interface.")(
      "subnet", text(""), "Subnet in CIDR format for the network")(
      "subnet6", text(""), "IPv6 subnet in CIDR format for the network")(
      "gw", text("auto"),
      "VNET+bridge only. The default IPv4 router that is added to 'vnet' containers on "
      "startup, if `subnet` is set. If set to 'auto' the first IP of `subnet` is added to the "
      "bridge and used as a gateway (default). Setting `--gw=\"\"` disables adding a gateway.")(
      "gw6", text("auto"),
      "VNET+bridge only. The default IPv6 router that is added to 'vnet' containers, if "
      "`subnet6` is set. See `gw` for details.")(
      "nat", po::value<std::string>()->value_name("bool"),
      "Whether or not to use NAT for the network's outgoing traffic. Default is to use NAT, use "
      "`--no-nat` to disable it.")("no-nat", po::bool_switch(), "Same as `--nat false`.")(
      "nat-if", po::value<std::string>()->value_name("string"),
      "Specify which interface to NAT the IPv4 network traffic to. Defaults to the host's "
      "gateway interface. Ignored if `no-nat` is set.")(
      "icc", po::value<std::string>()->value_name("bool"),
      "Whether or not to enable connectivity between containers within the same network.  "
      "[default: True]")(
      "internal", po::bool_switch(),
      "Whether or not the network is internal, i.e., not allowing outgoing upstream traffic");
}

}  // namespace

Command network_create_command() {
  return Command{
      .path = {"network", "create"},
      .summary = "Create a new network.",
      .options = options,
      .positionals = {{.name = "NAME"}},
      .run = run,
  };
}

}  // namespace klee
