// Network create/remove/prune: store rows, Linux bridges over netlink, the firewall over
// libnftables. See service.hpp.
#include "network/service.hpp"

#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>

#include <spdlog/spdlog.h>

#include "network/firewall.hpp"
#include "network/netlink.hpp"
#include "network/nft.hpp"

namespace kleene::network {

namespace {

// Network changes (store rows, bridges, the firewall) run one at a time.
std::recursive_mutex& change_mutex() {
  static std::recursive_mutex mutex;
  return mutex;
}

// One libnftables context for the process, made on first use (in a request thread: the host
// network namespace) and retried on the next change when that failed. Callers hold
// change_mutex().
std::optional<Nftables>& nftables_instance() {
  static std::optional<Nftables> instance;
  return instance;
}

Result<Nftables*> nftables() {
  auto& instance = nftables_instance();
  if (!instance) instance.emplace(TRY(Nftables::create()));
  return &*instance;
}

bool nftables_loaded() {
  return nftables_instance().has_value();
}

// "10.0.0.0/24" -> "24".
std::string prefix_of(std::string_view subnet) {
  const auto slash = subnet.find('/');
  return slash == std::string_view::npos ? std::string() : std::string(subnet.substr(slash + 1));
}

firewall::Network to_firewall(const Network& n) {
  firewall::Network f;
  f.id = n.id;
  f.name = n.name;
  f.interface = n.type == kTypeLoopback ? std::string() : n.interface;
  f.subnet = n.subnet;
  f.subnet6 = n.subnet6;
  f.gateway = n.gateway;
  f.gateway6 = n.gateway6;
  f.nat = !n.nat_if.empty();
  f.nat_if = n.nat_if;
  f.icc = n.icc;
  f.internal = n.internal;
  f.group = fw_group_of(n);
  return f;
}

// The bridge of a bridge network with its gateway addresses, up. EEXIST when an interface of
// that name exists already (it is not ours to take over).
Result<void> make_bridge(netlink::Netlink& nl, const Network& n) {
  if (TRY(nl.link_exists(n.interface)))
    return make_error(EEXIST, "interface '" + n.interface + "' already exists");
  TRY(nl.create_bridge(n.interface));
  auto addresses = [&]() -> Result<void> {
    if (!n.gateway.empty()) TRY(nl.add_address(n.interface, n.gateway + "/" + prefix_of(n.subnet)));
    if (!n.gateway6.empty())
      TRY(nl.add_address(n.interface, n.gateway6 + "/" + prefix_of(n.subnet6)));
    return {};
  }();
  if (!addresses) {
    (void)nl.delete_link(n.interface);
    return addresses;
  }
  return {};
}

}  // namespace

std::string default_route_interface() {
  std::ifstream in("/proc/net/route");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string iface, destination, gateway, flags, refcnt, use, metric, mask;
    if (!(fields >> iface >> destination >> gateway >> flags >> refcnt >> use >> metric >> mask))
      continue;
    if (destination == "00000000" && mask == "00000000") return iface;
  }
  return {};
}

std::unique_lock<std::recursive_mutex> NetworkService::lock() {
  return std::unique_lock(change_mutex());
}

Result<void> NetworkService::apply_firewall() {
  std::lock_guard lock(change_mutex());
  // What was loaded last (the ruleset changes only with networks, connections and published
  // ports, never with a container start or stop, so most calls load nothing).
  static std::optional<std::string> loaded;
  const auto networks = TRY(repo_.list());
  firewall::Snapshot snapshot;
  if (ports_) {
    snapshot.ports = TRY(ports_());
    std::string gateway_if;
    for (auto& port : snapshot.ports) {
      if (!port.interfaces.empty()) continue;
      if (gateway_if.empty()) gateway_if = default_route_interface();
      if (!gateway_if.empty()) port.interfaces.push_back(gateway_if);
    }
  }
  for (const auto& n : networks) {
    snapshot.networks.push_back(to_firewall(n));
    for (const auto& e : TRY(repo_.endpoints_of_network(n.id))) {
      snapshot.endpoints.push_back(firewall::Endpoint{e.container_id, e.network_id, e.interface,
                                                      e.ip_address, e.ip_address6});
    }
  }
  const std::string script = TRY(firewall::render(snapshot));
  if (loaded && *loaded == script) return {};
  // Nothing to load and nothing of ours in the kernel (kleened starting without networks):
  // libnftables, which the context loads, is not needed. When the kernel cannot be asked,
  // libnftables answers below as before.
  if (networks.empty() && snapshot.ports.empty() && !nftables_loaded()) {
    if (auto exist = Nftables::ours_exist(); exist && !*exist) {
      loaded = script;
      return {};
    }
  }
  auto* nft = TRY(nftables());
  loaded.reset();
  if (networks.empty() && snapshot.ports.empty()) {
    TRY(nft->remove_ours());
  } else {
    TRY(nft->apply(script));
  }
  loaded = script;
  return {};
}

Result<Network> NetworkService::create(NetworkConfig config) {
  TRY(check_network_config(config));
  std::string nat_if;
  if (config.nat == kNatHostGateway) {
    nat_if = default_route_interface();
  } else {
    nat_if = config.nat;
  }

  std::lock_guard lock(change_mutex());
  auto nl = TRY(netlink::Netlink::open());
  if (config.type == kTypeCustom) {
    if (!TRY(nl.link_exists(config.interface)))
      return make_error(ENODEV, "interface '" + config.interface + "' does not exist");
  } else if (config.type == kTypeBridge && !config.interface.empty()) {
    if (auto owned = netlink::validate_interface_name(config.interface);
        !owned || !netlink::is_owned_name(config.interface)) {
      return make_error(EINVAL, "invalid interface name '" + config.interface +
                                    "': the bridge of a bridge network must be named kl...");
    }
  }

  // The row first (it picks kleene<N>), then the kernel; an automatic name that exists in the
  // kernel already is skipped.
  std::set<std::string> reserved;
  std::optional<Network> made;
  for (int attempt = 0; attempt < 64 && !made; ++attempt) {
    auto network = TRY(repo_.create(config, nat_if, reserved));
    if (network.type != kTypeBridge) {
      made = std::move(network);
      break;
    }
    auto bridge = make_bridge(nl, network);
    if (bridge) {
      made = std::move(network);
      break;
    }
    (void)repo_.remove(network.id);
    if (bridge.error().code != EEXIST || !config.interface.empty())
      return std::unexpected(bridge.error());
    reserved.insert(network.interface);
  }
  if (!made) return make_error(EEXIST, "no free interface name for the bridge");

  if (auto fw = apply_firewall(); !fw) {
    spdlog::warn("network {}: firewall not loaded, undoing the create: {}", made->name,
                 fw.error().message);
    if (made->type == kTypeBridge) (void)nl.delete_link(made->interface);
    (void)repo_.remove(made->id);
    (void)apply_firewall();
    return std::unexpected(fw.error());
  }
  spdlog::info("network {} ({}, {}) created", made->name, made->id, made->type);
  return *made;
}

Result<std::vector<std::string>> NetworkService::restore_bridges() {
  std::lock_guard lock(change_mutex());
  std::vector<std::string> made;
  std::optional<netlink::Netlink> nl;
  for (const auto& n : TRY(repo_.list())) {
    if (n.type != kTypeBridge || !netlink::is_owned_name(n.interface)) continue;
    if (!nl) nl.emplace(TRY(netlink::Netlink::open()));
    if (TRY(nl->link_exists(n.interface))) continue;
    spdlog::warn("network {} ({}): its bridge {} is missing: making it again", n.name, n.id,
                 n.interface);
    if (auto bridge = make_bridge(*nl, n); !bridge) {
      spdlog::warn("network {}: cannot make its bridge {}: {}", n.name, n.interface,
                   bridge.error().message);
      continue;
    }
    made.push_back(n.interface);
  }
  return made;
}

Result<Network> NetworkService::remove_locked(const Network& network) {
  if (!TRY(repo_.endpoints_of_network(network.id)).empty()) {
    if (!disconnect_) {
      return make_error(
          EBUSY, "cannot remove network '" + network.name + "': containers are connected to it");
    }
    TRY(disconnect_(network));
  }
  if (network.type == kTypeBridge && netlink::is_owned_name(network.interface)) {
    auto nl = TRY(netlink::Netlink::open());
    if (TRY(nl.link_exists(network.interface))) TRY(nl.delete_link(network.interface));
  }
  if (auto removed = repo_.remove(network.id); !removed && removed.error().code != ENOENT)
    return std::unexpected(removed.error());
  TRY(apply_firewall());
  spdlog::info("network {} ({}) removed", network.name, network.id);
  return network;
}

Result<Network> NetworkService::remove(std::string_view id_or_name) {
  std::lock_guard lock(change_mutex());
  const auto network = TRY(repo_.resolve(id_or_name));
  return remove_locked(network);
}

Result<std::vector<std::string>> NetworkService::prune() {
  std::lock_guard lock(change_mutex());
  std::vector<std::string> pruned;
  for (const auto& n : TRY(repo_.prune_candidates())) {
    TRY(remove_locked(n));
    pruned.push_back(n.id);
  }
  return pruned;
}

}  // namespace kleene::network
