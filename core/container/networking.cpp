// Containers on networks: see networking.hpp.
#include "container/networking.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <set>

#include <spdlog/spdlog.h>

#include "container/hosts_file.hpp"
#include "kleene/plugin/abi.h"
#include "network/config.hpp"
#include "network/firewall.hpp"
#include "plugin/registry.hpp"
#include "storage/storage.hpp"
#include "util/unique_fd.hpp"

namespace kleene::container::networking {

namespace {

using network::EndPoint;
using network::Network;
using network::NetworkRepository;
using nlohmann::json;

constexpr std::uint64_t kNetworkTypes =
    KLEENE_CAP_NET_LOOPBACK | KLEENE_CAP_NET_BRIDGE | KLEENE_CAP_NET_CUSTOM;

std::uint64_t type_capability(std::string_view type) {
  if (type == network::kTypeLoopback) return KLEENE_CAP_NET_LOOPBACK;
  if (type == network::kTypeBridge) return KLEENE_CAP_NET_BRIDGE;
  if (type == network::kTypeCustom) return KLEENE_CAP_NET_CUSTOM;
  return 0;
}

json network_json(const Network& n) {
  return json{{"id", n.id},           {"name", n.name},
              {"type", n.type},       {"interface", n.interface},
              {"subnet", n.subnet},   {"subnet6", n.subnet6},
              {"gateway", n.gateway}, {"gateway6", n.gateway6},
              {"icc", n.icc},         {"group", network::fw_group_of(n)}};
}
json endpoint_json(const EndPoint& e) {
  return json{{"id", e.id},
              {"ip_address", e.ip_address},
              {"ip_address6", e.ip_address6},
              {"interface", e.interface}};
}

std::string netns_of(pid_t init_pid) {
  return "/proc/" + std::to_string(init_pid) + "/ns/net";
}

// Turns a forwarding sysctl on when it is off (and config allows it), logging the change. Called
// once a driver made a link for an endpoint: a driver that makes none routes nothing.
void ensure_sysctl(const Env& env, const char* path, const char* name, const Network& n) {
  UniqueFd fd(::open(path, O_RDWR | O_CLOEXEC));
  if (!fd) {
    spdlog::warn("cannot open {}: {}", path, std::strerror(errno));
    return;
  }
  char value = 0;
  if (::pread(fd.get(), &value, 1, 0) != 1 || value != '0') return;
  if (!env.ip_forwarding) {
    spdlog::warn(
        "{} is 0 and ip_forwarding is off in kleened's config: routed traffic of "
        "network {} will not pass",
        name, n.name);
    return;
  }
  if (::pwrite(fd.get(), "1", 1, 0) != 1) {
    spdlog::warn("cannot set {} to 1: {}", name, std::strerror(errno));
    return;
  }
  spdlog::warn("{} was 0: set to 1 for network {} (config ip_forwarding)", name, n.name);
}

void ensure_forwarding(const Env& env, const Network& n) {
  ensure_sysctl(env, "/proc/sys/net/ipv4/ip_forward", "net.ipv4.ip_forward", n);
  if (!n.subnet6.empty())
    ensure_sysctl(env, "/proc/sys/net/ipv6/conf/all/forwarding", "net.ipv6.conf.all.forwarding", n);
}

// The driver's join; the host-side interface it made.
Result<std::string> join(const Driver& d, const Container& c, const Network& n, const EndPoint& e,
                         pid_t init_pid, bool default_route) {
  json request{{"container_id", c.id},
               {"netns", netns_of(init_pid)},
               {"endpoint", endpoint_json(e)},
               {"network", network_json(n)},
               {"default_route", default_route}};
  auto answer = d.plugin->call("join", request);
  if (!answer) {
    return make_error(answer.error().code, "cannot attach container " + c.id + " to network " +
                                               n.name + ": " + answer.error().message);
  }
  if (!answer->is_object() || !(*answer)["interface"].is_string()) {
    return make_error(EIO, "network driver " + d.name + ": join answered without an interface");
  }
  return (*answer)["interface"].get<std::string>();
}

Result<void> leave(const Driver& d, const Container& c, const Network& n, const EndPoint& e,
                   std::optional<pid_t> init_pid) {
  json request{{"container_id", c.id},
               {"netns", init_pid ? netns_of(*init_pid) : std::string()},
               {"endpoint", endpoint_json(e)},
               {"network", network_json(n)}};
  auto answer = d.plugin->call("leave", request);
  if (!answer) {
    return make_error(answer.error().code, "cannot detach container " + c.id + " from network " +
                                               n.name + ": " + answer.error().message);
  }
  return {};
}

// Leaves every attached endpoint of `c` and clears the interfaces; the first error is returned,
// the rest still run.
Result<void> leave_all(Env& env, const Container& c, std::optional<pid_t> init_pid) {
  NetworkRepository repo(env.store);
  auto endpoints = TRY(repo.endpoints_of_container(c.id));
  Result<void> outcome;
  auto d = driver(env, c.network_driver);
  for (const auto& e : endpoints) {
    if (e.interface.empty()) continue;
    auto n = repo.get(e.network_id);
    Result<void> left;
    if (d && d->has_endpoints() && n) {
      left = leave(*d, c, *n, e, init_pid);
    } else {
      left = make_error(ENOENT,
                        "container " + c.id + ": no driver to remove interface " + e.interface);
    }
    if (!left) {
      spdlog::warn("{}", left.error().message);
      if (outcome) outcome = left;
      if (d && d->has_endpoints()) continue;  // keep the row pointing at what is left
    }
    (void)repo.set_endpoint_interface(e.id, "");
  }
  return outcome;
}

// The /etc/hosts of `c`: its own addresses with its names, and every container sharing a
// network with it. A container without endpoints keeps its image's file, unless it just lost its
// last one (`was_connected`): then the file is ours and gets the loopback lines only.
Result<void> write_hosts(Env& env, const Container& c, bool was_connected = false) {
  NetworkRepository repo(env.store);
  const auto own = TRY(repo.endpoints_of_container(c.id));
  if (own.empty() && !was_connected) return {};
  ContainerRepository containers(env.store);
  std::vector<hosts::Entry> self;
  std::vector<hosts::Entry> peers;
  std::vector<std::string> names{c.name, c.id.substr(0, 12)};
  if (auto params = parse_params(c.jail_param); params && !params->hostname.empty())
    names.insert(names.begin(), params->hostname);
  for (const auto& e : own) {
    for (const auto* address : {&e.ip_address, &e.ip_address6})
      if (!address->empty()) self.push_back({*address, names});
    for (const auto& other : TRY(repo.endpoints_of_network(e.network_id))) {
      if (other.container_id == c.id) continue;
      auto peer = containers.get(other.container_id);
      if (!peer) continue;
      for (const auto* address : {&other.ip_address, &other.ip_address6})
        if (!address->empty()) peers.push_back({*address, {peer->name}});
    }
  }
  const auto rootfs = TRY(env.storage.mountpoint(c.dataset));
  return hosts::write(rootfs, hosts::render(self, peers));
}

// /etc/hosts of every container on `network_id` (and of `also`).
void rewrite_hosts_of_network(Env& env, std::string_view network_id, const Container* also) {
  NetworkRepository repo(env.store);
  ContainerRepository containers(env.store);
  std::set<std::string> done;
  if (also != nullptr) {
    done.insert(also->id);
    if (auto wrote = write_hosts(env, *also, /*was_connected=*/true); !wrote)
      spdlog::warn("container {}: /etc/hosts: {}", also->id, wrote.error().message);
  }
  auto endpoints = repo.endpoints_of_network(network_id);
  if (!endpoints) return;
  for (const auto& e : *endpoints) {
    if (!done.insert(e.container_id).second) continue;
    auto c = containers.get(e.container_id);
    if (!c) continue;
    if (auto wrote = write_hosts(env, *c); !wrote)
      spdlog::warn("container {}: /etc/hosts: {}", c->id, wrote.error().message);
  }
}

void reload_firewall(Env& env) {
  if (auto fw = service(env).apply_firewall(); !fw)
    spdlog::warn("firewall not loaded: {}", fw.error().message);
}

Result<std::vector<network::firewall::PublishedPort>> published_ports(store::Store& store) {
  std::vector<network::firewall::PublishedPort> ports;
  NetworkRepository repo(store);
  for (const auto& c : TRY(ContainerRepository(store).list())) {
    if (!c.public_ports.is_array() || c.public_ports.empty()) continue;
    std::string ip4, ip6;
    bool attached = false;
    for (const auto& e : TRY(repo.endpoints_of_container(c.id))) {
      if (e.interface.empty()) continue;
      attached = true;
      if (ip4.empty()) ip4 = e.ip_address;
      if (ip6.empty()) ip6 = e.ip_address6;
    }
    if (!attached || (ip4.empty() && ip6.empty())) continue;
    for (const auto& p : c.public_ports) {
      if (!p.is_object()) continue;
      network::firewall::PublishedPort port;
      port.container_id = c.id;
      if (p.contains("interfaces") && p["interfaces"].is_array()) {
        for (const auto& i : p["interfaces"])
          if (i.is_string()) port.interfaces.push_back(i.get<std::string>());
      }
      // Rows written before ports were checked at create may hold anything: an entry that
      // is not strings is skipped (with a warning), never thrown on at every reload.
      auto text = [&](const char* key, const char* fallback) -> std::optional<std::string> {
        const auto it = p.find(key);
        if (it == p.end()) return fallback;
        if (!it->is_string()) return std::nullopt;
        return it->get<std::string>();
      };
      const auto host_port = text("host_port", ""), container_port = text("container_port", "");
      const auto protocol = text("protocol", "tcp");
      const bool readable =
          host_port && container_port && protocol && (*protocol == "tcp" || *protocol == "udp") &&
          network::firewall::parse_ports(*host_port, *container_port).has_value() &&
          std::ranges::all_of(port.interfaces, network::firewall::is_valid_interface_name);
      if (!readable) {
        // One bad entry must not keep the whole ruleset from loading.
        spdlog::warn("container {}: a published port kleened cannot read is ignored: {}", c.id,
                     p.dump());
        continue;
      }
      port.host_port = *host_port;
      port.container_port = *container_port;
      port.protocol = *protocol;
      port.ip_address = ip4;
      port.ip_address6 = ip6;
      ports.push_back(std::move(port));
    }
  }
  return ports;
}

// The container and the network a connect or disconnect names, with Kleene's messages.
Result<std::pair<Container, Network>> resolve_pair(Env& env, std::string_view container,
                                                   std::string_view network) {
  auto c = ContainerRepository(env.store).resolve(container);
  if (!c) return make_error(ENOENT, "container not found");
  auto n = NetworkRepository(env.store).resolve(network);
  if (!n) return make_error(ENOENT, "network not found");
  return std::pair{std::move(*c), std::move(*n)};
}

}  // namespace

bool Driver::own_netns() const {
  return (capabilities & KLEENE_CAP_NET_OWN_NETNS) != 0;
}

bool Driver::has_endpoints() const {
  return plugin != nullptr && (capabilities & KLEENE_CAP_NET_NO_ENDPOINTS) == 0;
}

Result<Driver> driver(const Env& env, std::string_view name) {
  if (name == "loopback") name = "ipnet";
  if (name == "disabled") return Driver{"disabled", KLEENE_CAP_NET_OWN_NETNS, nullptr};
  if (env.plugins != nullptr) {
    if (auto* p = env.plugins->find(name, plugin::Kind::network))
      return Driver{std::string(name), p->info().capabilities, p};
  }
  return make_error(ENOENT, "network driver '" + std::string(name) + "' is not loaded");
}

Result<void> check_connect(const Driver& d, std::string_view network_type, bool running) {
  if (!d.has_endpoints() || (d.capabilities & kNetworkTypes) == 0) {
    return make_error(
        EINVAL, "containers with the '" + d.name + "' network-driver cannot connect to networks.");
  }
  if ((d.capabilities & type_capability(network_type)) == 0) {
    return make_error(EINVAL, "containers using the '" + d.name +
                                  "' network-driver can't connect to " + std::string(network_type) +
                                  " networks");
  }
  if (running && (d.capabilities & KLEENE_CAP_NET_CONNECT_WHILE_RUNNING) == 0) {
    return make_error(EINVAL, "cannot connect a running " + d.name + " container to a network");
  }
  return {};
}

network::NetworkService service(store::Store& store) {
  return network::NetworkService(store, [&store] { return published_ports(store); });
}

network::NetworkService service(Env& env) {
  return network::NetworkService(
      env.store, [&env] { return published_ports(env.store); },
      [&env](const Network& n) -> Result<void> {
        ContainerRepository containers(env.store);
        for (const auto& e : TRY(NetworkRepository(env.store).endpoints_of_network(n.id))) {
          auto c = containers.get(e.container_id);
          if (!c) continue;
          TRY(disconnect_locked(env, c->id, n.id));
        }
        return {};
      });
}

Result<EndPoint> connect(Env& env, std::string_view container, std::string_view network,
                         std::string_view ip_address, std::string_view ip_address6) {
  std::lock_guard lifecycle(lifecycle_mutex());
  auto lock = network::NetworkService::lock();
  NetworkRepository repo(env.store);
  const auto [c, n] = TRY(resolve_pair(env, container, network));
  if (repo.endpoint(n.id, c.id))
    return make_error(EEXIST, "container already connected to the network");
  const auto d = TRY(driver(env, c.network_driver));
  const auto state = env.runtime.state(c.id);
  TRY(check_connect(d, n.type, state.has_value()));
  auto e = TRY(repo.add_endpoint(n.id, c.id, ip_address, ip_address6));
  if (state) {
    const bool first = TRY(repo.endpoints_of_container(c.id)).size() == 1;
    auto interface = join(d, c, n, e, state->init_pid, first);
    if (!interface) {
      (void)repo.remove_endpoint(n.id, c.id);
      return std::unexpected(interface.error());
    }
    e.interface = *interface;
    if (!e.interface.empty()) ensure_forwarding(env, n);
    TRY(repo.set_endpoint_interface(e.id, e.interface));
    reload_firewall(env);
  }
  rewrite_hosts_of_network(env, n.id, &c);
  spdlog::info("container {} connected to network {} ({} {})", c.id, n.name, e.ip_address,
               e.ip_address6);
  return e;
}

Result<void> disconnect(Env& env, std::string_view container, std::string_view network) {
  std::lock_guard lifecycle(lifecycle_mutex());
  return disconnect_locked(env, container, network);
}

Result<network::Network> remove_network(Env& env, std::string_view network) {
  std::lock_guard lifecycle(lifecycle_mutex());
  return service(env).remove(network);
}

Result<void> disconnect_locked(Env& env, std::string_view container, std::string_view network) {
  auto lock = network::NetworkService::lock();
  NetworkRepository repo(env.store);
  const auto [c, n] = TRY(resolve_pair(env, container, network));
  const auto e = TRY(repo.endpoint(n.id, c.id));
  if (!e.interface.empty()) {
    const auto d = TRY(driver(env, c.network_driver));
    std::optional<pid_t> init_pid;
    if (auto state = env.runtime.state(c.id)) init_pid = state->init_pid;
    if (d.has_endpoints()) TRY(leave(d, c, n, e, init_pid));
  }
  TRY(repo.remove_endpoint(n.id, c.id));
  reload_firewall(env);
  rewrite_hosts_of_network(env, n.id, &c);
  spdlog::info("container {} disconnected from network {}", c.id, n.name);
  return {};
}

Result<void> disconnect_all_locked(Env& env, const Container& c) {
  for (const auto& e : TRY(NetworkRepository(env.store).endpoints_of_container(c.id)))
    TRY(disconnect_locked(env, c.id, e.network_id));
  return {};
}

runtime::BeforeRun attach_hook(Env& env, const Container& c) {
  return [&env, c](const runtime::ContainerState& state) -> Result<void> {
    auto d = TRY(driver(env, c.network_driver));
    if (!d.has_endpoints()) return {};
    auto lock = network::NetworkService::lock();
    const auto began = std::chrono::steady_clock::now();
    NetworkRepository repo(env.store);
    bool first = true;
    for (const auto& e : TRY(repo.endpoints_of_container(c.id))) {
      auto n = TRY(repo.get(e.network_id));
      // A container that ended on its own while nobody watched leaves its row pointing at a
      // link that is gone, or going with its namespace: remove what is left first.
      if (!e.interface.empty()) {
        if (auto left = leave(d, c, n, e, std::nullopt); !left)
          spdlog::warn("{}", left.error().message);
      }
      auto interface = join(d, c, n, e, state.init_pid, first);
      if (interface && !interface->empty()) ensure_forwarding(env, n);
      if (interface)
        interface = [&]() -> Result<std::string> {
          TRY(repo.set_endpoint_interface(e.id, *interface));
          return *interface;
        }();
      if (!interface) {
        (void)leave_all(env, c, state.init_pid);
        return std::unexpected(interface.error());
      }
      first = false;
    }
    if (!first) {
      spdlog::debug("container {}: endpoints joined in {} us", c.id,
                    std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now() - began)
                        .count());
    }
    return {};
  };
}

void prepare_start(Env& env, const Container& c) {
  auto d = driver(env, c.network_driver);
  if (!d || !d->has_endpoints()) return;
  auto lock = network::NetworkService::lock();
  if (auto wrote = write_hosts(env, c); !wrote)
    spdlog::warn("container {}: /etc/hosts: {}", c.id, wrote.error().message);
}

void after_start(Env& env, const Container& c) {
  auto lock = network::NetworkService::lock();
  auto endpoints = NetworkRepository(env.store).endpoints_of_container(c.id);
  if (!endpoints || endpoints->empty()) return;
  reload_firewall(env);
}

void detach(Env& env, const Container& c) {
  auto lock = network::NetworkService::lock();
  NetworkRepository repo(env.store);
  auto endpoints = repo.endpoints_of_container(c.id);
  if (!endpoints) return;
  bool changed = false;
  for (const auto& e : *endpoints) {
    if (e.interface.empty()) continue;
    // Nothing runs in the container any more, so its network namespace is gone or going: the
    // kernel deletes the veth pairs in it (and the routes through them) in the background.
    // Deleting them here would make the stop wait ~20 ms per link for RCU, for nothing.
    (void)repo.set_endpoint_interface(e.id, "");
    changed = true;
  }
  if (changed) reload_firewall(env);
}

void reconcile(Env& env) {
  auto lock = network::NetworkService::lock();
  auto containers = ContainerRepository(env.store).list();
  if (containers) {
    for (const auto& c : *containers) {
      if (env.runtime.state(c.id)) continue;
      auto endpoints = NetworkRepository(env.store).endpoints_of_container(c.id);
      if (!endpoints) continue;
      for (const auto& e : *endpoints) {
        if (e.interface.empty()) continue;
        spdlog::warn("container {} does not run: removing its interface {}", c.id, e.interface);
      }
      (void)leave_all(env, c, std::nullopt);
    }
  }
  if (auto restored = service(env).restore_bridges(); !restored)
    spdlog::warn("networks: cannot check their bridges: {}", restored.error().message);
  reload_firewall(env);
}

}  // namespace kleene::container::networking
