// The "vnet" network driver (Kleene's vnet on Linux): each container gets its own netns with a
// veth pair whose host end is a port of the network's bridge (made by the core, which also
// gives it the gateway addresses). The container end gets the endpoint's addresses with the
// subnet's prefix and, for the container's default network, the default route via the
// gateway. docs/network-drivers.md has the details.
#include <string>

#include "kleene/plugin/sdk.hpp"
#include "net-common/plumbing.hpp"
#include "net-common/request.hpp"

namespace {

namespace netdrv = kleene::netdrv;
namespace netlink = kleene::network::netlink;
using kleene::sdk::Error;
using nlohmann::json;

constexpr char kLetter = 'v';

// What the bridge needs beyond the common checks: a bridge, and a subnet that holds each
// address (its prefix is the address's prefix).
void validate(const netdrv::JoinRequest& join) {
  const auto& ep = join.endpoint;
  const auto& net = join.network;
  auto invalid = [](const std::string& message) { throw Error(KLEENE_E_INVALID, message); };
  if (net.type != "bridge") {
    throw Error(KLEENE_E_UNSUPPORTED, "vnet attaches to bridge networks only, not to the " +
                                          net.type + " network " + net.name);
  }
  if (net.interface.empty()) invalid("network " + net.name + " has no bridge interface");
  if (!ep.ip.empty() && !netdrv::subnet_contains(net.subnet, ep.ip)) {
    invalid("address " + ep.ip + " is not in the subnet '" + net.subnet.cidr + "' of network " +
            net.name);
  }
  if (!ep.ip6.empty() && !netdrv::subnet_contains(net.subnet6, ep.ip6)) {
    invalid("address " + ep.ip6 + " is not in the subnet6 '" + net.subnet6.cidr + "' of network " +
            net.name);
  }
}

std::string with_prefix(const std::string& address, const netdrv::Subnet& subnet) {
  return address + "/" + std::to_string(subnet.prefix);
}

kleene::Result<void> configure_container_side(netlink::Netlink& nl, const std::string& eth,
                                              const netdrv::JoinRequest& join) {
  const auto& ep = join.endpoint;
  const auto& net = join.network;
  TRY(nl.set_up("lo"));
  if (!ep.ip.empty()) TRY(nl.add_address(eth, with_prefix(ep.ip, net.subnet)));
  if (!ep.ip6.empty()) TRY(nl.add_address(eth, with_prefix(ep.ip6, net.subnet6)));
  TRY(nl.set_up(eth));
  if (join.default_route && !ep.ip.empty() && !net.gateway.empty()) {
    TRY(nl.add_route(netlink::Route{"default", net.gateway, eth, false}));
  }
  if (join.default_route && !ep.ip6.empty() && !net.gateway6.empty()) {
    TRY(nl.add_route(netlink::Route{"default", net.gateway6, eth, false}));
  }
  return {};
}

class VnetDriver final : public kleene::sdk::NetworkDriver {
 public:
  using NetworkDriver::NetworkDriver;

  json join(const json& request) override {
    const auto req = netdrv::parse_join(request);
    validate(req);
    auto nl = netdrv::check(netlink::Netlink::open(), "join: netlink");
    const std::string& bridge = req.network.interface;
    if (!netdrv::check(nl.link_exists(bridge), "join: bridge " + bridge)) {
      throw Error(KLEENE_E_NOT_FOUND,
                  "bridge " + bridge + " of network " + req.network.name + " does not exist");
    }
    const auto [link, eth] = netdrv::join_veth(
        req, kLetter, nl,
        [&](netlink::Netlink& host, const std::string& name) {
          const std::string op = "join: attach " + name + " to bridge " + bridge;
          netdrv::check(host.set_master(name, bridge), op);
          // icc false: the network's ports do not reach each other (bridge port isolation).
          if (!req.network.icc) netdrv::check(host.set_bridge_port_isolated(name, true), op);
          netdrv::check(host.set_up(name), op);
        },
        [&](netlink::Netlink& inside, const std::string& name) {
          return configure_container_side(inside, name, req);
        });
    host().debug("container " + req.container_id + " joined network " + req.network.name + " on " +
                 eth + " (host side " + link + " on " + bridge + ")");
    return json{{"interface", link}, {"container_interface", eth}};
  }

  json leave(const json& request) override {
    netdrv::leave_veth(netdrv::parse_leave(request, kLetter), kLetter);
    return json::object();
  }
};

}  // namespace

KLEENE_NETWORK_PLUGIN(VnetDriver, "vnet", "0.1.0",
                      "per-container netns with a veth pair on a Linux bridge (Kleene's vnet)",
                      KLEENE_CAP_NET_CONNECT_WHILE_RUNNING | KLEENE_CAP_NET_IPV6 |
                          KLEENE_CAP_NET_OWN_NETNS | KLEENE_CAP_NET_BRIDGE);
