// The firewall of kleene's networks as one nftables script, rendered from a snapshot of the
// store. Pure: no kernel, no store access; the caller loads the text (libnftables) so that the
// whole ruleset is replaced in one transaction.
//
// The script touches only the tables `inet kleene` and `bridge kleene`: it deletes them (after
// an `add`, so a missing table is no error) and recreates what the snapshot needs. Every base
// chain has policy accept and only drops, so other firewalls on the host keep their say.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/error.hpp"

namespace kleene::network::firewall {

inline constexpr std::string_view kTable = "kleene";  // in families inet and bridge

struct Network {
  std::string id;
  std::string name;       // store name; becomes part of a chain name (validated)
  std::string interface;  // bridge (or custom interface); "" when the network has none
  std::string subnet;     // IPv4 CIDR, "" = none
  std::string subnet6;    // IPv6 CIDR, "" = none
  std::string gateway;    // informational; validated when set
  std::string gateway6;
  bool nat = false;       // masquerade to nat_if
  std::string nat_if;     // required when nat is true (the store keeps the resolved interface)
  bool icc = true;        // endpoints of this network reach each other
  bool internal = false;  // nothing leaves and nothing from outside enters the network
  // The interface group (devgroup) of the network's routed endpoints (the host sides of ipnet
  // veths); 0 = none. Rules match it (iifgroup/oifgroup), never the endpoints' names, so a
  // container start or stop leaves the ruleset as it is.
  std::uint32_t group = 0;
};

// An endpoint: checked (its network must be listed, its addresses valid) but not named in any
// rule: its traffic is matched by its network's interface or group.
struct Endpoint {
  std::string container_id;
  std::string network_id;  // Network::id
  std::string interface;   // host side of the veth pair, "" if none yet (validated only)
  std::string ip_address;  // "" = none
  std::string ip_address6;
};

struct PublishedPort {
  std::string container_id;
  std::vector<std::string> interfaces;  // host interfaces; [] = any (the caller resolves
                                        // Kleene's "gateway interface" default first)
  std::string host_port;                // "PORT" or "START:END"
  std::string container_port;    // "PORT" for a single host port; "START:*" (or "") for a range
  std::string protocol = "tcp";  // tcp | udp
  std::string ip_address;        // the container's address the traffic goes to ("" = none)
  std::string ip_address6;
};

struct Snapshot {
  std::vector<Network> networks;
  std::vector<Endpoint> endpoints;
  std::vector<PublishedPort> ports;
};

// The nft script for `snapshot`, deterministic (sorted) for a given set of rows. EINVAL with
// a message naming the offending row when a value is not acceptable; nothing in the returned
// text comes from the snapshot unless it was validated (or re-formatted, like addresses).
[[nodiscard]] Result<std::string> render(const Snapshot& snapshot);

// Validators, exposed for the daemon to check user input early.
// A Linux interface name: 1..15 bytes of [A-Za-z0-9_.-], not "." or "..".
[[nodiscard]] bool is_valid_interface_name(std::string_view name);

struct PortRange {
  std::uint16_t first = 0;
  std::uint16_t last = 0;  // == first for a single port
};
// host_port / container_port of a published port; the container range has the host range's
// length. EINVAL on a malformed value.
[[nodiscard]] Result<std::pair<PortRange, PortRange>> parse_ports(std::string_view host_port,
                                                                  std::string_view container_port);

}  // namespace kleene::network::firewall
