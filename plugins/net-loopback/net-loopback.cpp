// The "ipnet" network driver (Kleene's ipnet on Linux): each container gets its own netns joined
// to the host by a routed point-to-point veth, Calico style: no layer 2 between containers, the
// host routes every packet. The host end owns 169.254.1.1/32 (and fe80::1/64), so it answers ARP
// and neighbour discovery for the container's default gateway; a /32 (/128) route per container
// sends the way back. docs/network-drivers.md has the details.
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
  if (!ep.ip.empty()) {
    netdrv::check(host.add_route(netlink::Route{ep.ip + "/32", "", link, false}), op);
  }
  if (!ep.ip6.empty()) {
    netdrv::check(host.add_route(netlink::Route{ep.ip6 + "/128", "", link, false}), op);
  }
}

// The container end: host addresses, up, and either the default routes or (for a further
// network) the network's subnets, both through the host end.
kleene::Result<void> configure_container_side(const std::string& eth,
                                              const netdrv::JoinRequest& join) {
  const auto& ep = join.endpoint;
  const auto& net = join.network;
  auto nl = TRY(netlink::Netlink::open());
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
    const auto netns = netdrv::open_container_netns(req.netns);
    auto nl = netdrv::check(netlink::Netlink::open(), "join: netlink");
    const std::string link = netdrv::host_link_name(kLetter, req.endpoint.id);
    const std::string peer = netdrv::peer_link_name(req.endpoint.id);
    const std::string eth = netdrv::start_join(nl, req.endpoint.id, link, peer, netns.get());
    netdrv::VethGuard guard(nl, link);
    configure_host_side(nl, link, req);
    netdrv::check(
        netlink::in_netns(netns.get(), [&] { return configure_container_side(eth, req); }),
        "join: configure " + eth + " of container " + req.container_id);
    guard.dismiss();
    host().debug("container " + req.container_id + " joined network " + req.network.name + " on " +
                 eth + " (host side " + link + ")");
    return json{{"interface", link}, {"container_interface", eth}};
  }

  json leave(const json& request) override {
    const auto req = netdrv::parse_leave(request, kLetter);
    auto nl = netdrv::check(netlink::Netlink::open(), "leave: netlink");
    const std::string link = req.endpoint.interface.empty()
                                 ? netdrv::host_link_name(kLetter, req.endpoint.id)
                                 : req.endpoint.interface;
    // Deleting the host end deletes the container end and the host routes through it.
    netdrv::check(netdrv::delete_if_present(nl, link), "leave: delete " + link);
    netdrv::check(netdrv::delete_if_present(nl, netdrv::peer_link_name(req.endpoint.id)),
                  "leave: delete stale peer");
    return json::object();
  }
};

}  // namespace

KLEENE_NETWORK_PLUGIN(IpnetDriver, "ipnet", "0.1.0",
                      "per-container netns on a routed point-to-point veth (Kleene's ipnet)",
                      KLEENE_CAP_NET_CONNECT_WHILE_RUNNING | KLEENE_CAP_NET_IPV6 |
                          KLEENE_CAP_NET_OWN_NETNS | KLEENE_CAP_NET_LOOPBACK |
                          KLEENE_CAP_NET_BRIDGE | KLEENE_CAP_NET_CUSTOM);
