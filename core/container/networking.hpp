// Containers on networks: the core's side of the network driver plugins. The core keeps the
// networks (store, IPAM, bridges, the firewall) and the endpoint rows; a driver plugin only
// plumbs an endpoint into a container's network namespace (`join`) and out again (`leave`), see
// docs/network-drivers.md. The core knows a driver by its name and its capability record only.
//
// Invariant: an endpoint row's `interface` is set exactly while the driver's host-side link
// exists (the container runs and is attached); the firewall lists those interfaces and the
// published ports of those containers.
//
// Locking: every function here that changes something takes lifecycle_mutex() (unless noted:
// the *_locked ones expect it held) and then network::NetworkService::lock().
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "container/container.hpp"
#include "container/service.hpp"
#include "network/repository.hpp"
#include "network/service.hpp"
#include "runtime/runtime.hpp"
#include "util/error.hpp"

namespace kleene::plugin {
class LoadedPlugin;
}

namespace kleene::container::networking {

// A container's network driver: "disabled" (the core's: its own netns with only lo) or a loaded
// network plugin ("loopback" is accepted for "ipnet").
struct Driver {
  std::string name;
  std::uint64_t capabilities = 0;  // KLEENE_CAP_NET_*
  plugin::LoadedPlugin* plugin = nullptr;

  [[nodiscard]] bool own_netns() const;
  // The driver gives containers endpoints (join/leave): a plugin without NO_ENDPOINTS.
  [[nodiscard]] bool has_endpoints() const;
};

// ENOENT "network driver 'x' is not loaded" when no plugin of that name is loaded.
[[nodiscard]] Result<Driver> driver(const Env& env, std::string_view name);

// Kleene's connect matrix from the capability record, with Kleene's messages (EINVAL).
[[nodiscard]] Result<void> check_connect(const Driver& driver, std::string_view network_type,
                                         bool running);

// The network service with the container layer's parts: the published ports of running
// containers for the firewall and, with an Env, removing a network disconnects its containers.
[[nodiscard]] network::NetworkService service(store::Store& store);
[[nodiscard]] network::NetworkService service(Env& env);

// POST /networks/connect: checks, the endpoint row (IPAM) and, when the container runs, the
// driver's join, the firewall and the /etc/hosts of the containers on the network. Kleene's
// messages: ENOENT "container not found" / "network not found"; EEXIST "container already
// connected to the network"; EINVAL for the matrix and addresses.
[[nodiscard]] Result<network::EndPoint> connect(Env& env, std::string_view container,
                                                std::string_view network,
                                                std::string_view ip_address,
                                                std::string_view ip_address6);
// POST /networks/{id}/disconnect/{container}: the driver's leave when attached, the row, the
// firewall and /etc/hosts. ENOENT "endpoint configuration not found" when not connected.
[[nodiscard]] Result<void> disconnect(Env& env, std::string_view container,
                                      std::string_view network);
[[nodiscard]] Result<void> disconnect_locked(Env& env, std::string_view container,
                                             std::string_view network);
// DELETE /networks/{id}: service(env).remove under lifecycle_mutex() (its containers are
// disconnected first, as in Kleene).
[[nodiscard]] Result<network::Network> remove_network(Env& env, std::string_view network);
// Every connection of a container that is being removed (lifecycle_mutex() held).
[[nodiscard]] Result<void> disconnect_all_locked(Env& env, const Container& c);

// The runtime's BeforeRun hook for a start (lifecycle_mutex() held): joins every endpoint of
// `c` into /proc/<init>/ns/net (the first carries the default route), turns forwarding on if
// needed; on a failure leaves what it joined.
[[nodiscard]] runtime::BeforeRun attach_hook(Env& env, const Container& c);
// After a start: /etc/hosts of `c` and its peers, the firewall. Failures are logged.
void after_start(Env& env, const Container& c);
// Before a start, before anything runs: /etc/hosts of `c` (when it has endpoints).
void prepare_start(Env& env, const Container& c);
// After `c` stopped or ended (lifecycle_mutex() held): its endpoints' interfaces are cleared
// (the kernel deletes the veth pairs with the container's namespace, in the background) and the
// firewall reloaded if that changed it.
void detach(Env& env, const Container& c);
// kleened's start-up: endpoints of containers that no longer run are detached (links a dead
// container left are removed), running ones are left untouched; the firewall is loaded.
void reconcile(Env& env);

}  // namespace kleene::container::networking
