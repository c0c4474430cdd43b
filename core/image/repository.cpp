// The images table (store/migrations.cpp). All of the image SQL lives in this file.
#include <algorithm>

#include "image/image.hpp"
#include "store/rows.hpp"
#include "store/store.hpp"
#include "util/resolve.hpp"

namespace kleene::image {

std::shared_mutex& removal_mutex() {
  static std::shared_mutex mutex;
  return mutex;
}

namespace {

constexpr std::string_view kColumns =
    "id, name, tag, cmd, env, user, instructions, buildargs, dataset, parent_snapshot, created, "
    "config";

using store::json_column;
using store::string_list;

Image read_row(const store::Statement& stmt) {
  Image image;
  image.id = stmt.text(0);
  image.name = stmt.text(1);
  image.tag = stmt.text(2);
  image.cmd = string_list(json_column(stmt, 3, nlohmann::json::array()));
  image.env = string_list(json_column(stmt, 4, nlohmann::json::array()));
  image.user = stmt.text(5);
  image.instructions = json_column(stmt, 6, nlohmann::json::array());
  image.buildargs = json_column(stmt, 7, nlohmann::json::object());
  image.dataset = stmt.text(8);
  image.parent_snapshot = stmt.text(9);
  image.created = stmt.text(10);
  image.config = json_column(stmt, 11, nlohmann::json::object());
  if (!image.config.is_object()) image.config = nlohmann::json::object();
  return image;
}

Result<std::vector<Image>> query_images(store::Connection& conn, std::string_view where,
                                        std::string_view param = {}) {
  return store::select_rows(conn, kColumns, "images", where, param, read_row);
}

// Take `name:tag` away from whichever image holds it, so it can move (Kleene's re-tagging).
Result<void> release_nametag(store::Connection& conn, std::string_view name, std::string_view tag) {
  if (name.empty()) return {};
  auto stmt =
      TRY(conn.prepare("UPDATE images SET name = '', tag = '' WHERE name = ?1 AND tag = ?2"));
  return stmt.bind(1, name).bind(2, tag).run();
}

std::unexpected<Error> no_such_image(std::string_view query) {
  return make_error(ENOENT, "no such image: " + std::string(query));
}

}  // namespace

Result<void> ImageRepository::insert(const Image& image) {
  auto conn = store_.lock();
  auto tx = TRY(conn.begin());
  TRY(release_nametag(conn, image.name, image.tag));
  auto stmt = TRY(conn.prepare("INSERT INTO images (" + std::string(kColumns) +
                               ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"));
  stmt.bind(1, image.id)
      .bind(2, image.name)
      .bind(3, image.name.empty() ? std::string() : image.tag)
      .bind(4, nlohmann::json(image.cmd).dump())
      .bind(5, nlohmann::json(image.env).dump())
      .bind(6, image.user)
      .bind(7, image.instructions.dump())
      .bind(8, image.buildargs.dump())
      .bind(9, image.dataset)
      .bind(10, image.parent_snapshot)
      .bind(11, image.created)
      .bind(12, image.config.dump());
  TRY(stmt.run());
  for (const auto& [key, snapshot] : image.cache) {
    auto entry = TRY(conn.prepare(
        "INSERT OR REPLACE INTO build_cache (key, image_id, snapshot) VALUES (?1, ?2, ?3)"));
    entry.bind(1, key).bind(2, image.id).bind(3, snapshot);
    TRY(entry.run());
  }
  return tx.commit();
}

Result<std::optional<CacheEntry>> ImageRepository::cached(std::string_view key) {
  auto conn = store_.lock();
  auto stmt = TRY(conn.prepare("SELECT image_id, snapshot FROM build_cache WHERE key = ?1"));
  stmt.bind(1, key);
  if (!TRY(stmt.step())) return std::optional<CacheEntry>{};
  return std::optional<CacheEntry>{CacheEntry{stmt.text(0), stmt.text(1)}};
}

Result<Image> ImageRepository::get(std::string_view id) {
  auto conn = store_.lock();
  auto images = TRY(query_images(conn, "id = ?1", id));
  if (images.empty()) return no_such_image(id);
  return std::move(images.front());
}

Result<std::vector<Image>> ImageRepository::list() {
  auto conn = store_.lock();
  return query_images(conn, {});
}

Result<Image> ImageRepository::resolve(std::string_view name_or_id, std::string_view tag) {
  auto images = TRY(list());
  // With a tag the reference can only be a name (Kleene: "name:tag").
  if (!tag.empty()) {
    auto it = std::ranges::find_if(
        images, [&](const Image& i) { return i.name == name_or_id && i.tag == tag; });
    if (it == images.end()) return no_such_image(std::string(name_or_id) + ":" + std::string(tag));
    return std::move(*it);
  }
  // Exact id, then name:latest, then a unique id prefix (util/resolve.hpp's precedence).
  std::vector<Candidate> candidates;
  candidates.reserve(images.size());
  for (const auto& image : images)
    candidates.push_back({image.id, image.tag == "latest" ? image.name : std::string()});
  const std::size_t index = TRY(resolve_index(name_or_id, candidates, "image"));
  return std::move(images[index]);
}

Result<void> ImageRepository::set_nametag(std::string_view id, std::string_view name,
                                          std::string_view tag) {
  auto conn = store_.lock();
  auto tx = TRY(conn.begin());
  TRY(release_nametag(conn, name, tag));
  auto stmt = TRY(conn.prepare("UPDATE images SET name = ?2, tag = ?3 WHERE id = ?1"));
  TRY(stmt.bind(1, id).bind(2, name).bind(3, name.empty() ? std::string_view() : tag).run());
  if (conn.changes() == 0) return no_such_image(id);
  return tx.commit();
}

Result<void> ImageRepository::remove(std::string_view id) {
  auto conn = store_.lock();
  auto stmt = TRY(conn.prepare("DELETE FROM images WHERE id = ?1"));
  TRY(stmt.bind(1, id).run());
  if (conn.changes() == 0) return no_such_image(id);
  return {};
}

Result<std::vector<ContainerRef>> ImageRepository::containers_using(std::string_view id) {
  auto conn = store_.lock();
  auto stmt = TRY(conn.prepare("SELECT id, name FROM containers WHERE image_id = ?1 ORDER BY id"));
  stmt.bind(1, id);
  std::vector<ContainerRef> containers;
  while (TRY(stmt.step()))
    containers.push_back({stmt.text(0), stmt.text(1)});
  return containers;
}

Result<std::vector<Image>> ImageRepository::children(const Image& image) {
  if (image.dataset.empty()) return std::vector<Image>{};
  auto conn = store_.lock();
  // substr rather than LIKE: dataset names may hold '_' and '%', which LIKE would match.
  return query_images(conn, "substr(parent_snapshot, 1, length(?1) + 1) = ?1 || '@'",
                      image.dataset);
}

}  // namespace kleene::image
