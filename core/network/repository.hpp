// The networks and endpoints tables (store/migrations.cpp): the stored Network and EndPoint
// objects and their repository. All of the network SQL lives here (repository.cpp).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "network/config.hpp"
#include "util/error.hpp"

namespace kleene::store {
class Store;
}

namespace kleene::network {

// A row of the networks table (Kleene's Network plus the interface NAT resolved to).
struct Network {
  std::string id;
  std::string name;
  std::string type;
  std::string interface;
  std::string subnet;
  std::string subnet6;
  std::string gateway;
  std::string gateway6;
  std::string nat;     // as configured: "", "<host-gateway>" or an interface
  std::string nat_if;  // the interface it resolved to ("" when nat is "")
  bool icc = true;
  bool internal = false;
  std::string created;
  // The network's number, unique among networks (1..kMaxFwGroup): the interface group of its
  // routed endpoints is kFwGroupBase + fw_group (see fw_group_of()).
  int fw_group = 0;
};

inline constexpr int kMaxFwGroup = 0xffff;
inline constexpr std::uint32_t kFwGroupBase = 0x6b6c0000;  // "kl" in the high half
[[nodiscard]] inline std::uint32_t fw_group_of(const Network& n) {
  return n.fw_group > 0 ? kFwGroupBase + static_cast<std::uint32_t>(n.fw_group) : 0;
}

// Kleene's Network object. "nat" is the interface NAT goes out of (Kleene stores the resolved
// interface there), i.e. nat_if, or nat while it is unresolved.
[[nodiscard]] nlohmann::json to_json(const Network& network);

// A row of the endpoints table.
struct EndPoint {
  std::string id;
  std::string network_id;
  std::string container_id;
  std::string interface;  // host side of the veth pair, "" until a plugin made one
  std::string ip_address;
  std::string ip_address6;
};

// Kleene's EndPoint object ("epair" is the interface, null while there is none), the shape
// ContainerRepository::endpoints() returns too.
[[nodiscard]] nlohmann::json to_json(const EndPoint& endpoint);

// CRUD on the networks and endpoints tables. Every read-check-write is one IMMEDIATE
// transaction, so two creates cannot take one name or interface and two connects cannot get
// one address (the UNIQUE indexes of the schema back the latter).
class NetworkRepository {
 public:
  explicit NetworkRepository(store::Store& store) : store_(store) {}

  // Insert a network from a config that passed check_network_config(): fresh id, created now.
  // An empty interface becomes the lowest kleene<N> neither used by a network nor in
  // `reserved` (the caller passes the host's existing interface names, so a new bridge never
  // takes over an interface it did not create). `nat_if`: what config.nat resolved to.
  // Errors: EEXIST "network name is already taken"; EEXIST "interface 'x' is already used by
  // network 'y'".
  [[nodiscard]] Result<Network> create(const NetworkConfig& config, std::string_view nat_if = {},
                                       const std::set<std::string>& reserved = {});
  [[nodiscard]] Result<Network> get(std::string_view id);
  [[nodiscard]] Result<std::vector<Network>> list();  // newest first
  // Exact id, exact name, unique id prefix; ENOENT "no such network: x", ENOTUNIQ.
  [[nodiscard]] Result<Network> resolve(std::string_view id_or_name);
  // ENOENT if there is none; EBUSY while endpoints exist (disconnect them first: each stands
  // for kernel state a plugin has to undo).
  [[nodiscard]] Result<void> remove(std::string_view id);
  // Networks without endpoints (what prune removes), newest first.
  [[nodiscard]] Result<std::vector<Network>> prune_candidates();

  // Connect: in one transaction, check the network exists and the container is not connected
  // yet (EEXIST "container already connected to the network"), assign the addresses with
  // network::assign against the addresses the network's endpoints hold, and insert the
  // endpoint. `ip_address`/`ip_address6`: "" none, "<auto>", or explicit (checked for subnet,
  // gateway and duplicates). The container must exist (foreign key; ENOENT otherwise).
  [[nodiscard]] Result<EndPoint> add_endpoint(std::string_view network_id,
                                              std::string_view container_id,
                                              std::string_view ip_address,
                                              std::string_view ip_address6);
  // The host-side interface a plugin made for the endpoint. ENOENT if there is no endpoint.
  [[nodiscard]] Result<void> set_endpoint_interface(std::string_view endpoint_id,
                                                    std::string_view interface);
  // ENOENT "endpoint configuration not found" (Kleene) if the container is not connected.
  [[nodiscard]] Result<EndPoint> endpoint(std::string_view network_id,
                                          std::string_view container_id);
  [[nodiscard]] Result<void> remove_endpoint(std::string_view network_id,
                                             std::string_view container_id);
  [[nodiscard]] Result<std::vector<EndPoint>> endpoints_of_network(std::string_view network_id);
  [[nodiscard]] Result<std::vector<EndPoint>> endpoints_of_container(std::string_view container_id);

 private:
  store::Store& store_;
};

}  // namespace kleene::network
