// The containers and mounts tables (store/migrations.cpp). All of the container SQL lives here.
#include "container/container.hpp"
#include "store/rows.hpp"
#include "store/store.hpp"
#include "util/resolve.hpp"

namespace kleene::container {

namespace {

constexpr std::string_view kColumns =
    "id, name, image_id, cmd, user, env, jail_param, persist, restart_policy, network_driver, "
    "public_ports, dataset, created";

using store::json_column;
using store::string_list;

Container read_row(const store::Statement& stmt) {
  Container c;
  c.id = stmt.text(0);
  c.name = stmt.text(1);
  c.image_id = stmt.text(2);
  c.cmd = string_list(json_column(stmt, 3, nlohmann::json::array()));
  c.user = stmt.text(4);
  c.env = string_list(json_column(stmt, 5, nlohmann::json::array()));
  c.jail_param = string_list(json_column(stmt, 6, nlohmann::json::array()));
  c.persist = stmt.boolean(7);
  c.restart_policy = stmt.text(8);
  c.network_driver = stmt.text(9);
  c.public_ports = json_column(stmt, 10, nlohmann::json::array());
  c.dataset = stmt.text(11);
  c.created = stmt.text(12);
  return c;
}

Result<std::vector<Container>> query(store::Connection& conn, std::string_view where,
                                     std::string_view param = {}) {
  return store::select_rows(conn, kColumns, "containers", where, param, read_row);
}

std::unexpected<Error> no_such_container(std::string_view query) {
  return make_error(ENOENT, "no such container: " + std::string(query));
}

std::unexpected<Error> name_taken(const Container& c) {
  return make_error(EEXIST, "container name '" + c.name + "' is already in use");
}

// Bind the columns update() may change, in this order, from parameter `first` on: name, cmd,
// user, env, jail_param, persist, restart_policy, network_driver, public_ports.
void bind_changeable(store::Statement& stmt, const Container& c, int first) {
  stmt.bind(first, c.name)
      .bind(first + 1, nlohmann::json(c.cmd).dump())
      .bind(first + 2, c.user)
      .bind(first + 3, nlohmann::json(c.env).dump())
      .bind(first + 4, nlohmann::json(c.jail_param).dump())
      .bind(first + 5, c.persist)
      .bind(first + 6, c.restart_policy)
      .bind(first + 7, c.network_driver)
      .bind(first + 8, c.public_ports.dump());
}

}  // namespace

nlohmann::json to_json(const Container& c, bool running) {
  return nlohmann::json{
      {"id", c.id},
      {"name", c.name},
      {"image_id", c.image_id},
      {"cmd", c.cmd},
      {"user", c.user},
      {"env", c.env},
      {"jail_param", c.jail_param},
      {"persist", c.persist},
      {"restart_policy", c.restart_policy},
      {"network_driver", c.network_driver},
      {"public_ports", c.public_ports},
      {"dataset", c.dataset},
      {"created", c.created},
      {"running", running},
  };
}

Result<void> ContainerRepository::insert(const Container& c,
                                         const std::vector<volume::MountPoint>& mounts,
                                         std::string_view build_id) {
  auto conn = store_.lock();
  auto tx = TRY(conn.begin());
  {
    auto taken = TRY(conn.prepare("SELECT 1 FROM containers WHERE name = ?1"));
    taken.bind(1, c.name);
    if (TRY(taken.step())) return name_taken(c);
  }
  auto stmt = TRY(conn.prepare(
      "INSERT INTO containers (id, image_id, dataset, created, name, cmd, user, env, jail_param, "
      "persist, restart_policy, network_driver, public_ports) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"));
  stmt.bind(1, c.id).bind(2, c.image_id).bind(3, c.dataset).bind(4, c.created);
  bind_changeable(stmt, c, 5);
  TRY(stmt.run());
  for (const auto& m : mounts) {
    auto mount = TRY(conn.prepare(
        "INSERT INTO mounts (container_id, type, source, destination, read_only, volume) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
    mount.bind(1, c.id)
        .bind(2, m.type)
        .bind(3, m.source)
        .bind(4, m.destination)
        .bind(5, m.read_only);
    if (m.type == "volume")
      mount.bind(6, m.source);
    else
      mount.bind(6, nullptr);
    TRY(mount.run());
  }
  if (!build_id.empty()) {
    auto mark =
        TRY(conn.prepare("INSERT INTO build_containers (container_id, build_id) VALUES (?1, ?2)"));
    TRY(mark.bind(1, c.id).bind(2, build_id).run());
  }
  return tx.commit();
}

Result<Container> ContainerRepository::get(std::string_view id) {
  auto conn = store_.lock();
  auto rows = TRY(query(conn, "id = ?1", id));
  if (rows.empty()) return no_such_container(id);
  return std::move(rows.front());
}

Result<std::vector<Container>> ContainerRepository::list() {
  auto conn = store_.lock();
  return query(conn, {});
}

Result<Container> ContainerRepository::resolve(std::string_view id_or_name) {
  auto rows = TRY(list());
  std::vector<Candidate> candidates;
  candidates.reserve(rows.size());
  for (const auto& c : rows)
    candidates.push_back({c.id, c.name});
  const std::size_t index = TRY(resolve_index(id_or_name, candidates, "container"));
  return std::move(rows[index]);
}

Result<void> ContainerRepository::update(const Container& c) {
  auto conn = store_.lock();
  auto tx = TRY(conn.begin());
  {
    auto taken = TRY(conn.prepare("SELECT 1 FROM containers WHERE name = ?1 AND id <> ?2"));
    taken.bind(1, c.name).bind(2, c.id);
    if (TRY(taken.step())) return name_taken(c);
  }
  auto stmt = TRY(conn.prepare(
      "UPDATE containers SET name = ?2, cmd = ?3, user = ?4, env = ?5, jail_param = ?6, "
      "persist = ?7, restart_policy = ?8, network_driver = ?9, public_ports = ?10 WHERE id = ?1"));
  stmt.bind(1, c.id);
  bind_changeable(stmt, c, 2);
  TRY(stmt.run());
  if (conn.changes() == 0) return no_such_container(c.id);
  return tx.commit();
}

Result<void> ContainerRepository::remove(std::string_view id) {
  auto conn = store_.lock();
  auto stmt = TRY(conn.prepare("DELETE FROM containers WHERE id = ?1"));
  TRY(stmt.bind(1, id).run());
  if (conn.changes() == 0) return no_such_container(id);
  return {};
}

Result<std::vector<volume::MountPoint>> ContainerRepository::mounts(std::string_view id) {
  auto conn = store_.lock();
  auto stmt =
      TRY(conn.prepare("SELECT container_id, type, source, destination, read_only FROM mounts "
                       "WHERE container_id = ?1 ORDER BY id"));
  stmt.bind(1, id);
  std::vector<volume::MountPoint> out;
  while (TRY(stmt.step()))
    out.push_back({stmt.text(0), stmt.text(1), stmt.text(2), stmt.text(3), stmt.boolean(4)});
  return out;
}

Result<nlohmann::json> ContainerRepository::endpoints(std::string_view id) {
  auto conn = store_.lock();
  auto stmt = TRY(conn.prepare(
      "SELECT id, network_id, container_id, interface, ip_address, ip_address6 FROM endpoints "
      "WHERE container_id = ?1 ORDER BY id"));
  stmt.bind(1, id);
  nlohmann::json out = nlohmann::json::array();
  while (TRY(stmt.step())) {
    out.push_back(nlohmann::json{
        {"id", stmt.text(0)},
        {"network_id", stmt.text(1)},
        {"container_id", stmt.text(2)},
        {"epair", stmt.text(3).empty() ? nlohmann::json(nullptr) : nlohmann::json(stmt.text(3))},
        {"ip_address", stmt.text(4)},
        {"ip_address6", stmt.text(5)}});
  }
  return out;
}

Result<std::vector<std::string>> ContainerRepository::build_containers() {
  auto conn = store_.lock();
  auto stmt = TRY(conn.prepare("SELECT container_id FROM build_containers ORDER BY container_id"));
  std::vector<std::string> ids;
  while (TRY(stmt.step()))
    ids.push_back(stmt.text(0));
  return ids;
}

Result<std::pair<std::string, std::string>> ContainerRepository::image_nametag(
    std::string_view image_id) {
  auto conn = store_.lock();
  auto stmt = TRY(conn.prepare("SELECT name, tag FROM images WHERE id = ?1"));
  stmt.bind(1, image_id);
  if (!TRY(stmt.step())) return std::pair<std::string, std::string>{};
  return std::pair{stmt.text(0), stmt.text(1)};
}

}  // namespace kleene::container
