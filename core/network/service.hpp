// Networks as kleened's API sees them: a row in the store, the kernel objects of its type and
// the firewall rendered from the whole store. Loopback networks make nothing in the kernel (on
// Linux an ipnet container gets routed point-to-point veths, made when it connects); bridge
// networks make their Linux bridge with the gateway addresses; custom networks use an existing
// interface and never change it.
//
// Changes run one at a time (a process-wide recursive mutex, lock()): the container layer holds
// it around a connect, a disconnect or an attach so that the store, the kernel and the firewall
// change together. Every change ends with the firewall
// re-rendered from the store and loaded in one nft transaction; a failure of any step of a
// create undoes the ones before (nothing half-made remains).
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "network/config.hpp"
#include "network/firewall.hpp"
#include "network/repository.hpp"
#include "util/error.hpp"

namespace kleene::store {
class Store;
}

namespace kleene::network {

class NetworkService {
 public:
  // The published ports of running containers, for the firewall (the container layer knows
  // them). Ports without interfaces are published on the default route's interface.
  using PortsProvider = std::function<Result<std::vector<firewall::PublishedPort>>()>;
  // Disconnects every container from a network that is being removed (Kleene removes a network
  // with its connections). Without one, remove refuses a network with endpoints (EBUSY).
  using Disconnector = std::function<Result<void>(const Network&)>;

  explicit NetworkService(store::Store& store, PortsProvider ports = {},
                          Disconnector disconnect = {})
      : repo_(store), ports_(std::move(ports)), disconnect_(std::move(disconnect)) {}

  // The process-wide lock of network changes (recursive: the service's methods take it too).
  [[nodiscard]] static std::unique_lock<std::recursive_mutex> lock();

  // Checks `config` (EINVAL), refuses duplicates (EEXIST), makes the kernel objects of its type
  // and reloads the firewall.
  [[nodiscard]] Result<Network> create(NetworkConfig config);
  // By id, id prefix or name; ENOENT when there is no such network. Connected containers are
  // disconnected first (EBUSY without a Disconnector). Deletes the bridge a bridge network made,
  // never another interface.
  [[nodiscard]] Result<Network> remove(std::string_view id_or_name);
  // Every network without endpoints; the ids removed, in the order removed.
  [[nodiscard]] Result<std::vector<std::string>> prune();
  // Renders the firewall from the store and loads it (removes our tables when there is nothing
  // to filter).
  [[nodiscard]] Result<void> apply_firewall();
  // Makes the bridge of every bridge network whose bridge is missing (a host reboot, or a
  // kleened killed half-way through removing the network), with its gateway addresses; logs
  // each. The names of the bridges made.
  [[nodiscard]] Result<std::vector<std::string>> restore_bridges();

  NetworkRepository& repository() { return repo_; }

 private:
  Result<Network> remove_locked(const Network& network);

  NetworkRepository repo_;
  PortsProvider ports_;
  Disconnector disconnect_;
};

// The interface of the host's default IPv4 route ("" when there is none), from /proc/net/route.
[[nodiscard]] std::string default_route_interface();

}  // namespace kleene::network
