// The "ipnet" network driver (Kleene's ipnet on Linux): each container gets its own netns joined
// to the host by a routed point-to-point veth, Calico style: no layer 2 between containers, the
// host routes every packet. The host end owns 169.254.1.1/32 (and fe80::1/64), so it answers ARP
// and neighbour discovery for the container's default gateway; a /32 (/128) route per container
// sends the way back. docs/network-drivers.md has the details.
#include <algorithm>
#include <string>

#include "kleene/plugin/sdk.hpp"
#include "net-common/plumbing.hpp"
#include "net-common/request.hpp"

namespace {

namespace netdrv = kleene::netdrv;
namespace netlink = kleene::network::netlink;
using nlohmann::json;

constexpr char kLetter = 'i';
constexpr const char* kGateway = "169.254.1.1";
constexpr const char* kGateway6 = "fe80::1";

// Whether a host end of the same endpoint other than `link` exists (it is going away with the
// namespace of an earlier start).
bool predecessor_exists(netlink::Netlink& host, const std::string& link,
                        const netdrv::JoinRequest& join) {
  const auto prefix = netdrv::host_link_prefix(kLetter, join.endpoint.id);
  auto names = host.link_names();
  if (!names) return false;
  return std::ranges::any_of(
      *names, [&](const std::string& name) { return name != link && name.starts_with(prefix); });
}

// The host end: no RAs or autoconfiguration from whatever the container sends, the network's
// interface group, the gateway addresses, up, and the route to the container's addresses.
void configure_host_side(netlink::Netlink& host, const std::string& link,
                         const netdrv::JoinRequest& join) {
  const auto& ep = join.endpoint;
  if (!ep.ip6.empty()) {
    for (const char* key : {"accept_ra", "autoconf"}) {
      netdrv::check(netdrv::write_link_sysctl("ipv6", link, key, "0"), "join: configure " + link);
    }
  }
  const std::string op = "join: configure host side " + link;
  // The firewall knows routed endpoints by their network's interface group.
  if (join.network.group != 0) netdrv::check(host.set_group(link, join.network.group), op);
  if (!ep.ip.empty()) netdrv::check(host.add_address(link, std::string(kGateway) + "/32"), op);
  if (!ep.ip6.empty()) {
    netdrv::check(host.add_address(link, std::string(kGateway6) + "/64"), op);
  }
  netdrv::check(host.set_up(link), op);
  for (const auto& destination : {ep.ip.empty() ? std::string() : ep.ip + "/32",
                                  ep.ip6.empty() ? std::string() : ep.ip6 + "/128"}) {
    if (destination.empty()) continue;
    netlink::Route route{destination, "", link, false};
    auto added = host.add_route(route);
    // The route may still point at the host end of this endpoint in a container namespace the
    // kernel is deleting in the background (a restart right after the end): take it over. A
    // route of anything else stays and the join fails.
    if (!added && added.error().code == EEXIST && predecessor_exists(host, link, join)) {
      route.replace = true;
      added = host.add_route(route);
    }
    netdrv::check(std::move(added), op);
  }
}

// The container end: host addresses, up, and either the default routes or (for a further
// network) the network's subnets, both through the host end.
kleene::Result<void> configure_container_side(netlink::Netlink& nl, const std::string& eth,
                                              const netdrv::JoinRequest& join) {
  const auto& ep = join.endpoint;
  const auto& net = join.network;
  TRY(nl.set_up("lo"));
  if (!ep.ip.empty()) TRY(nl.add_address(eth, ep.ip + "/32"));
  if (!ep.ip6.empty()) TRY(nl.add_address(eth, ep.ip6 + "/128"));
  TRY(nl.set_up(eth));
  if (!ep.ip.empty()) {
    const std::string destination = join.default_route   ? "default"
                                    : net.subnet.empty() ? ""
                                                         : net.subnet.cidr;
    if (!destination.empty()) TRY(nl.add_route(netlink::Route{destination, kGateway, eth, true}));
  }
  if (!ep.ip6.empty()) {
    const std::string destination = join.default_route    ? "default"
                                    : net.subnet6.empty() ? ""
                                                          : net.subnet6.cidr;
    if (!destination.empty()) {
      TRY(nl.add_route(netlink::Route{destination, kGateway6, eth, false}));
    }
  }
  return {};
}

class IpnetDriver final : public kleene::sdk::NetworkDriver {
 public:
  using NetworkDriver::NetworkDriver;

  json join(const json& request) override {
    const auto req = netdrv::parse_join(request);
    auto nl = netdrv::check(netlink::Netlink::open(), "join: netlink");
    const auto [link, eth] = netdrv::join_veth(
        req, kLetter, nl,
        [&](netlink::Netlink& host, const std::string& name) {
          configure_host_side(host, name, req);
        },
        [&](netlink::Netlink& inside, const std::string& name) {
          return configure_container_side(inside, name, req);
        });
    host().debug("container " + req.container_id + " joined network " + req.network.name + " on " +
                 eth + " (host side " + link + ")");
    return json{{"interface", link}, {"container_interface", eth}};
  }

  json leave(const json& request) override {
    netdrv::leave_veth(netdrv::parse_leave(request, kLetter), kLetter);
    return json::object();
  }
};

}  // namespace

KLEENE_NETWORK_PLUGIN(IpnetDriver, "ipnet", "0.1.0",
                      "per-container netns on a routed point-to-point veth (Kleene's ipnet)",
                      KLEENE_CAP_NET_CONNECT_WHILE_RUNNING | KLEENE_CAP_NET_IPV6 |
                          KLEENE_CAP_NET_OWN_NETNS | KLEENE_CAP_NET_LOOPBACK |
                          KLEENE_CAP_NET_BRIDGE | KLEENE_CAP_NET_CUSTOM);
