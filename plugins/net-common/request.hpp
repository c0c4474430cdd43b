// The join and leave requests of the network driver contract (docs/network-drivers.md), parsed
// and validated. Every field is hostile until checked here: ids become interface names, the
// netns is a path, addresses go to the kernel. A bad request throws
// kleene::sdk::Error(KLEENE_E_INVALID, ...) before anything is created.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kleene::netdrv {

// An IPv4 or IPv6 subnet, normalised to its network address ("10.13.0.5/24" -> "10.13.0.0/24").
struct Subnet {
  std::string cidr;  // "" = none
  int prefix = 0;
  [[nodiscard]] bool empty() const { return cidr.empty(); }
};

struct Endpoint {
  std::string id;
  std::string ip;         // "" = no IPv4 address
  std::string ip6;        // "" = no IPv6 address
  std::string interface;  // leave only: the host side join answered, "" = derive it from id
};

struct Network {
  std::string id;
  std::string name;
  std::string type;       // "loopback", "bridge" or "custom"
  std::string interface;  // the bridge of a bridge network, the existing link of a custom one
  Subnet subnet;
  Subnet subnet6;
  std::string gateway;
  std::string gateway6;
  bool icc = true;          // containers of the network reach each other (vnet: port isolation)
  std::uint32_t group = 0;  // interface group of routed endpoints (ipnet host sides); 0 = none
};

struct JoinRequest {
  std::string container_id;
  std::string netns;  // "/proc/<pid>/ns/net"
  Endpoint endpoint;
  Network network;
  bool default_route = false;
};

struct LeaveRequest {
  std::string container_id;
  std::string netns;  // "" when the container is gone
  Endpoint endpoint;
  Network network;
};

// `letter` ('i' for ipnet, 'v' for vnet) is the driver's letter in host-side names, checked
// against a leave request's endpoint.interface. (The core prefixes messages with the plugin.)
[[nodiscard]] JoinRequest parse_join(const nlohmann::json& request);
[[nodiscard]] LeaveRequest parse_leave(const nlohmann::json& request, char letter);

// The host end of an endpoint in one container namespace: "kl" + letter + the first 8
// characters of the endpoint id + 4 hex digits of the namespace's inode number (15 bytes,
// IFNAMSIZ-1). A new name per namespace: a container that ends leaves its veth pair to the
// kernel, which deletes it with the namespace in the background (a deletion waits ~20 ms for
// RCU), and a start right after must not collide with it.
[[nodiscard]] std::string host_link_name(char letter, std::string_view endpoint_id,
                                         std::uint64_t netns_inode);
// The prefix every host end of the endpoint starts with ("kl" + letter + 8 characters).
[[nodiscard]] std::string host_link_prefix(char letter, std::string_view endpoint_id);
// Names of earlier versions, removed by leave when found: the host end "kl" + letter + 12
// characters and the container end before its move, "klp" + 12 characters.
[[nodiscard]] std::string legacy_host_link_name(char letter, std::string_view endpoint_id);
[[nodiscard]] std::string peer_link_name(std::string_view endpoint_id);

// Whether `address` ("10.13.0.2", "fd00::2") lies in `subnet`; false for a family mismatch.
[[nodiscard]] bool subnet_contains(const Subnet& subnet, std::string_view address);

}  // namespace kleene::netdrv
