// The networks and endpoints tables (store/migrations.cpp). All of the network SQL lives here.
#include "network/repository.hpp"

#include "network/ipam.hpp"
#include "store/rows.hpp"
#include "store/store.hpp"
#include "util/ids.hpp"
#include "util/resolve.hpp"
#include "util/time.hpp"

namespace kleene::network {

namespace {

constexpr std::string_view kColumns =
    "id, name, type, interface, subnet, subnet6, gateway, gateway6, nat, nat_if, icc, internal, "
    "created, fw_group";
constexpr std::string_view kEndpointColumns =
    "id, network_id, container_id, interface, ip_address, ip_address6";

Network read_row(const store::Statement& stmt) {
  Network n;
  n.id = stmt.text(0);
  n.name = stmt.text(1);
  n.type = stmt.text(2);
  n.interface = stmt.text(3);
  n.subnet = stmt.text(4);
  n.subnet6 = stmt.text(5);
  n.gateway = stmt.text(6);
  n.gateway6 = stmt.text(7);
  n.nat = stmt.text(8);
  n.nat_if = stmt.text(9);
  n.icc = stmt.boolean(10);
  n.internal = stmt.boolean(11);
  n.created = stmt.text(12);
  n.fw_group = static_cast<int>(stmt.int64(13));
  return n;
}

EndPoint read_endpoint(const store::Statement& stmt) {
  return EndPoint{stmt.text(0), stmt.text(1), stmt.text(2),
                  stmt.text(3), stmt.text(4), stmt.text(5)};
}

Result<std::vector<Network>> query(store::Connection& conn, std::string_view where,
                                   std::string_view param = {}) {
  return store::select_rows(conn, kColumns, "networks", where, param, read_row);
}

// Endpoints WHERE <where> (?1 = param), in a stable order (by id).
Result<std::vector<EndPoint>> query_endpoints(store::Connection& conn, std::string_view where,
                                              std::string_view param) {
  auto stmt = TRY(conn.prepare("SELECT " + std::string(kEndpointColumns) +
                               " FROM endpoints WHERE " + std::string(where) + " ORDER BY id"));
  stmt.bind(1, param);
  std::vector<EndPoint> out;
  while (TRY(stmt.step()))
    out.push_back(read_endpoint(stmt));
  return out;
}

std::unexpected<Error> no_such_network(std::string_view query) {
  return make_error(ENOENT, "no such network: " + std::string(query));
}

// The lowest kleene<N> in neither `used` nor `reserved`.
std::string pick_interface(const std::set<std::string>& used,
                           const std::set<std::string>& reserved) {
  for (unsigned n = 0;; ++n) {
    std::string name = std::string(kInterfacePrefix) + std::to_string(n);
    if (!used.contains(name) && !reserved.contains(name)) return name;
  }
}

}  // namespace

nlohmann::json to_json(const Network& n) {
  return nlohmann::json{
      {"id", n.id},
      {"name", n.name},
      {"type", n.type},
      {"interface", n.interface},
      {"subnet", n.subnet},
      {"subnet6", n.subnet6},
      {"gateway", n.gateway},
      {"gateway6", n.gateway6},
      {"nat", n.nat_if.empty() ? n.nat : n.nat_if},
      {"icc", n.icc},
      {"internal", n.internal},
  };
}

nlohmann::json to_json(const EndPoint& e) {
  return nlohmann::json{
      {"id", e.id},
      {"network_id", e.network_id},
      {"container_id", e.container_id},
      {"epair", e.interface.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.interface)},
      {"ip_address", e.ip_address},
      {"ip_address6", e.ip_address6},
  };
}

Result<Network> NetworkRepository::create(const NetworkConfig& config, std::string_view nat_if,
                                          const std::set<std::string>& reserved) {
  Network n;
  n.id = generate_id();
  n.name = config.name;
  n.type = config.type;
  n.interface = config.interface;
  n.subnet = config.subnet;
  n.subnet6 = config.subnet6;
  n.gateway = config.gateway;
  n.gateway6 = config.gateway6;
  n.nat = config.nat;
  n.nat_if = config.nat.empty() ? std::string() : std::string(nat_if);
  n.icc = config.icc;
  n.internal = config.internal;
  n.created = iso8601_now();

  auto conn = store_.lock();
  auto tx = TRY(conn.begin());
  std::set<std::string> interfaces;
  std::set<int> groups;
  {
    auto stmt = TRY(conn.prepare("SELECT name, interface, fw_group FROM networks"));
    while (TRY(stmt.step())) {
      groups.insert(static_cast<int>(stmt.int64(2)));
      if (stmt.text(0) == n.name) return make_error(EEXIST, "network name is already taken");
      if (!n.interface.empty() && stmt.text(1) == n.interface) {
        return make_error(EEXIST, "interface '" + n.interface + "' is already used by network '" +
                                      stmt.text(0) + "'");
      }
      interfaces.insert(stmt.text(1));
    }
  }
  if (n.interface.empty()) n.interface = pick_interface(interfaces, reserved);
  n.fw_group = 1;
  while (groups.contains(n.fw_group))
    ++n.fw_group;
  if (n.fw_group > kMaxFwGroup) return make_error(ENOSPC, "too many networks");
  auto stmt = TRY(conn.prepare(
      "INSERT INTO networks (id, name, type, interface, subnet, subnet6, gateway, gateway6, nat, "
      "nat_if, icc, internal, created, fw_group) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"));
  stmt.bind(1, n.id)
      .bind(2, n.name)
      .bind(3, n.type)
      .bind(4, n.interface)
      .bind(5, n.subnet)
      .bind(6, n.subnet6)
      .bind(7, n.gateway)
      .bind(8, n.gateway6)
      .bind(9, n.nat)
      .bind(10, n.nat_if)
      .bind(11, n.icc)
      .bind(12, n.internal)
      .bind(13, n.created)
      .bind(14, n.fw_group);
  TRY(stmt.run());
  TRY(tx.commit());
  return n;
}

Result<Network> NetworkRepository::get(std::string_view id) {
  auto conn = store_.lock();
  auto rows = TRY(query(conn, "id = ?1", id));
  if (rows.empty()) return no_such_network(id);
  return std::move(rows.front());
}

Result<std::vector<Network>> NetworkRepository::list() {
  auto conn = store_.lock();
  return query(conn, {});
}

Result<Network> NetworkRepository::resolve(std::string_view id_or_name) {
  auto rows = TRY(list());
  std::vector<Candidate> candidates;
  candidates.reserve(rows.size());
  for (const auto& n : rows)
    candidates.push_back({n.id, n.name});
  const std::size_t index = TRY(resolve_index(id_or_name, candidates, "network"));
  return std::move(rows[index]);
}

Result<void> NetworkRepository::remove(std::string_view id) {
  auto conn = store_.lock();
  auto tx = TRY(conn.begin());
  auto rows = TRY(query(conn, "id = ?1", id));
  if (rows.empty()) return no_such_network(id);
  {
    auto count = TRY(conn.prepare("SELECT count(*) FROM endpoints WHERE network_id = ?1"));
    count.bind(1, id);
    TRY(count.step());
    if (const auto n = count.int64(0); n > 0) {
      return make_error(EBUSY, "cannot remove network '" + rows.front().name +
                                   "': " + std::to_string(n) + " container" +
                                   (n == 1 ? " is" : "s are") + " connected to it");
    }
  }
  auto stmt = TRY(conn.prepare("DELETE FROM networks WHERE id = ?1"));
  TRY(stmt.bind(1, id).run());
  return tx.commit();
}

Result<std::vector<Network>> NetworkRepository::prune_candidates() {
  auto conn = store_.lock();
  auto stmt = TRY(conn.prepare("SELECT " + std::string(kColumns) +
                               " FROM networks WHERE NOT EXISTS (SELECT 1 FROM endpoints WHERE "
                               "endpoints.network_id = networks.id) ORDER BY created DESC, id"));
  std::vector<Network> out;
  while (TRY(stmt.step()))
    out.push_back(read_row(stmt));
  return out;
}

Result<EndPoint> NetworkRepository::add_endpoint(std::string_view network_id,
                                                 std::string_view container_id,
                                                 std::string_view ip_address,
                                                 std::string_view ip_address6) {
  auto conn = store_.lock();
  auto tx = TRY(conn.begin());
  auto networks = TRY(query(conn, "id = ?1", network_id));
  if (networks.empty()) return no_such_network(network_id);
  const Network& network = networks.front();
  {
    auto exists = TRY(conn.prepare("SELECT 1 FROM containers WHERE id = ?1"));
    exists.bind(1, container_id);
    if (!TRY(exists.step()))
      return make_error(ENOENT, "no such container: " + std::string(container_id));
  }
  std::set<std::string> used4;
  std::set<std::string> used6;
  const auto endpoints = TRY(query_endpoints(conn, "network_id = ?1", network_id));
  for (const auto& e : endpoints) {
    if (e.container_id == container_id)
      return make_error(EEXIST, "container already connected to the network");
    if (!e.ip_address.empty()) used4.insert(e.ip_address);
    if (!e.ip_address6.empty()) used6.insert(e.ip_address6);
  }
  EndPoint e;
  e.id = generate_id();
  e.network_id = network.id;
  e.container_id = std::string(container_id);
  e.ip_address = TRY(assign(network.subnet, Family::inet, ip_address, network.gateway, used4));
  e.ip_address6 = TRY(assign(network.subnet6, Family::inet6, ip_address6, network.gateway6, used6));
  auto stmt = TRY(conn.prepare(
      "INSERT INTO endpoints (id, network_id, container_id, interface, ip_address, ip_address6) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  stmt.bind(1, e.id)
      .bind(2, e.network_id)
      .bind(3, e.container_id)
      .bind(4, e.interface)
      .bind(5, e.ip_address)
      .bind(6, e.ip_address6);
  TRY(stmt.run());
  TRY(tx.commit());
  return e;
}

Result<void> NetworkRepository::set_endpoint_interface(std::string_view endpoint_id,
                                                       std::string_view interface) {
  auto conn = store_.lock();
  auto stmt = TRY(conn.prepare("UPDATE endpoints SET interface = ?2 WHERE id = ?1"));
  TRY(stmt.bind(1, endpoint_id).bind(2, interface).run());
  if (conn.changes() == 0)
    return make_error(ENOENT, "no such endpoint: " + std::string(endpoint_id));
  return {};
}

Result<EndPoint> NetworkRepository::endpoint(std::string_view network_id,
                                             std::string_view container_id) {
  auto conn = store_.lock();
  auto stmt = TRY(conn.prepare("SELECT " + std::string(kEndpointColumns) +
                               " FROM endpoints WHERE network_id = ?1 AND container_id = ?2"));
  stmt.bind(1, network_id).bind(2, container_id);
  if (!TRY(stmt.step())) return make_error(ENOENT, "endpoint configuration not found");
  return read_endpoint(stmt);
}

Result<void> NetworkRepository::remove_endpoint(std::string_view network_id,
                                                std::string_view container_id) {
  auto conn = store_.lock();
  auto stmt =
      TRY(conn.prepare("DELETE FROM endpoints WHERE network_id = ?1 AND container_id = ?2"));
  TRY(stmt.bind(1, network_id).bind(2, container_id).run());
  if (conn.changes() == 0) return make_error(ENOENT, "endpoint configuration not found");
  return {};
}

Result<std::vector<EndPoint>> NetworkRepository::endpoints_of_network(std::string_view network_id) {
  auto conn = store_.lock();
  return query_endpoints(conn, "network_id = ?1", network_id);
}

Result<std::vector<EndPoint>> NetworkRepository::endpoints_of_container(
    std::string_view container_id) {
  auto conn = store_.lock();
  return query_endpoints(conn, "container_id = ?1", container_id);
}

}  // namespace kleene::network
