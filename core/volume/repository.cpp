// The volumes and mounts tables (store/migrations.cpp). All of the volume SQL lives here.
#include "store/store.hpp"
#include "volume/volume.hpp"

namespace kleene::volume {

namespace {

constexpr std::string_view kSelect = "SELECT name, dataset, mountpoint, created FROM volumes";

Volume read_row(const store::Statement& stmt) {
  return Volume{stmt.text(0), stmt.text(1), stmt.text(2), stmt.text(3)};
}

Result<std::vector<Volume>> query(store::Connection& conn, std::string_view where,
                                  std::string_view param = {}) {
  std::string sql(kSelect);
  if (!where.empty()) sql += " WHERE " + std::string(where);
  sql += " ORDER BY created DESC, name";
  auto stmt = TRY(conn.prepare(sql));
  if (where.find("?1") != std::string_view::npos) stmt.bind(1, param);
  std::vector<Volume> volumes;
  while (TRY(stmt.step()))
    volumes.push_back(read_row(stmt));
  return volumes;
}

std::unexpected<Error> no_such_volume(std::string_view name) {
  return make_error(ENOENT, "no such volume: " + std::string(name));
}

}  // namespace

std::mutex& change_mutex() {
  static std::mutex mutex;
  return mutex;
}

Result<void> VolumeRepository::insert(const Volume& volume) {
  auto conn = store_.lock();
  auto stmt = TRY(conn.prepare(
      "INSERT INTO volumes (name, dataset, mountpoint, created) VALUES (?1, ?2, ?3, ?4)"));
  auto inserted = stmt.bind(1, volume.name)
                      .bind(2, volume.dataset)
                      .bind(3, volume.mountpoint)
                      .bind(4, volume.created)
                      .run();
  if (!inserted && inserted.error().code == EEXIST)
    return make_error(EEXIST, "volume " + volume.name + " already exists");
  return inserted;
}

Result<Volume> VolumeRepository::get(std::string_view name) {
  auto conn = store_.lock();
  auto volumes = TRY(query(conn, "name = ?1", name));
  if (volumes.empty()) return no_such_volume(name);
  return std::move(volumes.front());
}

Result<std::vector<Volume>> VolumeRepository::list() {
  auto conn = store_.lock();
  return query(conn, {});
}

Result<std::vector<MountPoint>> VolumeRepository::mountpoints(std::string_view name) {
  auto conn = store_.lock();
  auto stmt =
      TRY(conn.prepare("SELECT container_id, type, source, destination, read_only FROM mounts "
                       "WHERE volume = ?1 ORDER BY container_id, destination"));
  stmt.bind(1, name);
  std::vector<MountPoint> mounts;
  while (TRY(stmt.step())) {
    mounts.push_back(
        MountPoint{stmt.text(0), stmt.text(1), stmt.text(2), stmt.text(3), stmt.boolean(4)});
  }
  return mounts;
}

Result<void> VolumeRepository::remove(std::string_view name) {
  auto conn = store_.lock();
  auto stmt = TRY(conn.prepare("DELETE FROM volumes WHERE name = ?1"));
  auto removed = stmt.bind(1, name).run();
  // mounts.volume is ON DELETE RESTRICT: the store itself refuses to drop a mounted volume.
  if (!removed && removed.error().code == EBUSY)
    return make_error(EBUSY, "volume " + std::string(name) + " is mounted in a container");
  TRY(std::move(removed));
  if (conn.changes() == 0) return no_such_volume(name);
  return {};
}

Result<std::vector<MountUser>> VolumeRepository::users(std::string_view name) {
  auto conn = store_.lock();
  auto stmt = TRY(conn.prepare(
      "SELECT DISTINCT c.id, c.name FROM mounts m JOIN containers c ON c.id = m.container_id "
      "WHERE m.volume = ?1 ORDER BY c.id"));
  stmt.bind(1, name);
  std::vector<MountUser> users;
  while (TRY(stmt.step()))
    users.push_back({stmt.text(0), stmt.text(1)});
  return users;
}

Result<std::vector<Volume>> VolumeRepository::unused() {
  auto conn = store_.lock();
  return query(conn, "NOT EXISTS (SELECT 1 FROM mounts m WHERE m.volume = volumes.name)");
}

}  // namespace kleene::volume
