// The NetworkConfig and EndPointConfig bodies as the API receives them, their rules with Kleene's
// messages, and the driver/type connect matrix. Pure string logic (addresses through ipam.hpp);
// interfaces, addresses and rules in the kernel are the network plugins' and the firewall's.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/error.hpp"
#include "util/json_body.hpp"

namespace kleene::network {

// Network types (Kleene's NetworkConfig.type enum).
inline constexpr std::string_view kTypeBridge = "bridge";
inline constexpr std::string_view kTypeLoopback = "loopback";
inline constexpr std::string_view kTypeCustom = "custom";

// NetworkConfig.nat's default: the interface of the host's default route, resolved by the
// caller (a route lookup) into Network::nat_if.
inline constexpr std::string_view kNatHostGateway = "<host-gateway>";
// Gateways and endpoint addresses: "pick one for me".
inline constexpr std::string_view kAuto = "<auto>";
// Generated interface names: kleene0, kleene1, ... (Linux: at most 15 characters).
inline constexpr std::string_view kInterfacePrefix = "kleene";
inline constexpr std::size_t kMaxInterfaceName = 15;

// NetworkConfig with Kleene's defaults (openapi), except `type`, which defaults to bridge when
// absent (klee's default) instead of a 422.
struct NetworkConfig {
  std::string name;
  std::string type = std::string(kTypeBridge);
  std::string interface;  // "" -> kleene<N>, picked by the repository
  std::string subnet;     // "" -> no IPv4
  std::string subnet6;    // "" -> no IPv6
  std::string gateway;    // "" none, "<auto>" first usable address (bridge only), or an address
  std::string gateway6;
  std::string nat = std::string(kNatHostGateway);  // "" -> no NAT
  bool icc = true;
  bool internal = false;
};

// EndPointConfig: which container joins which network, with which addresses ("" none,
// "<auto>" allocated, or an explicit address).
struct EndPointConfig {
  std::string container;
  std::string network;
  std::string ip_address;
  std::string ip_address6;
};

// A field that failed validation: where (JSON pointer) and why. Becomes Kleene's 422
// (OpenApiSpex's messages: "Invalid string. Got: integer", "Missing field: name",
// "Invalid value for enum").
// A body problem as OpenApiSpex reports it (JSON pointer + message).
using ConfigError = util::BodyError;

// Types and enums of every field of the bodies (OpenApiSpex's checks); the semantic rules are
// check_network_config() and the repository's.
[[nodiscard]] std::expected<NetworkConfig, ConfigError> parse_network_config(
    const nlohmann::json& body);
[[nodiscard]] std::expected<EndPointConfig, ConfigError> parse_endpoint_config(
    const nlohmann::json& body);

// Network names: Docker's object-name rule [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most 64 characters
// (they end up in nft comments, hosts files and CLI tables). EINVAL with the reason.
[[nodiscard]] Result<void> check_network_name(std::string_view name);

// A Linux interface name: 1..15 characters of [a-zA-Z0-9_.-], not "." or "..". EINVAL.
[[nodiscard]] Result<void> check_interface_name(std::string_view name);

// The semantic rules of a create, in Kleene's order, normalising `config` in place:
//   name                            check_network_name
//   type                            bridge | loopback | custom ("unknown network type 'x'")
//   interface                       "" or check_interface_name; custom networks need one
//                                   ("a custom network needs the name of an existing
//                                   interface"): the repository never invents it
//   subnet / subnet6                "" or CIDR of the family, host bits zero, stored canonical
//                                   ("invalid subnet: ...", "invalid subnet6: ...")
//   gateway / gateway6              "<auto>": the first usable address for bridge networks, ""
//                                   for other types or without a subnet (Kleene); an explicit
//                                   gateway must be a usable address of the subnet
//                                   ("invalid gateway: ...", "invalid gateway6: ...")
//   nat                             "", "<host-gateway>" or check_interface_name
// Whether the name is taken is the repository's check (it needs the table).
[[nodiscard]] Result<void> check_network_config(NetworkConfig& config);

// The connect matrix of Kleene's drivers and network types (messages are Kleene's):
//   host      -> nothing   "containers with the 'host' network-driver cannot connect to
//                           networks."
//   disabled  -> nothing   "containers with the 'disabled' network-driver cannot connect to
//                           networks."
//   ipnet (also "loopback", its alias) -> loopback, bridge, custom
//   vnet      -> bridge    "containers using the 'vnet' network-driver can't connect to
//                           <type> networks"
// "" -> EINVAL "a network driver is required"; an unknown network type -> EINVAL. Any other
// driver is a third party's plugin: its capability record decides, so it passes here.
[[nodiscard]] Result<void> can_connect(std::string_view driver, std::string_view network_type);

}  // namespace kleene::network
