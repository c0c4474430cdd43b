// /volumes/*: Kleene's volume routes. A volume is a dataset <root>/volumes/<name> and a row in
// the store; a volume that a container mounts is not removed (a deliberate fix of Kleene).
#include <mutex>

#include "api/context.hpp"
#include "api/storage_ready.hpp"
#include "api/stubs.hpp"
#include "storage/storage.hpp"
#include "util/time.hpp"
#include "volume/volume.hpp"

namespace kleene::api {

namespace {

using volume::Volume;
using volume::VolumeRepository;

constexpr std::string_view kNoSuchVolume = "No such volume";

std::string list_users(const std::vector<volume::MountUser>& users) {
  std::string out;
  for (const auto& u : users) {
    if (!out.empty()) out += ", ";
    out += u.id;
    if (!u.name.empty()) out += " (" + u.name + ")";
  }
  return out;
}

// The dataset first, the row second: a row never names a dataset that was not made. Should
// the row fail, the dataset made here is destroyed again. A dataset left by a crash between
// the two steps is adopted by the next create of that name rather than refused.
Result<void> create_volume(storage::Storage& storage, VolumeRepository& repo,
                           const std::string& name) {
  const std::string dataset = storage.layout().volume(name);
  const bool adopt = TRY(storage.exists(dataset));
  if (!adopt) TRY(storage.create_dataset(dataset));
  auto undo = [&](Error error) -> Result<void> {
    if (!adopt) (void)storage.destroy(dataset, /*recursive=*/true);
    return std::unexpected(std::move(error));
  };
  auto mountpoint = storage.mountpoint(dataset);
  if (!mountpoint) return undo(mountpoint.error());
  auto inserted = repo.insert(Volume{name, dataset, mountpoint->string(), iso8601_now()});
  if (!inserted) return undo(inserted.error());
  return {};
}

// The row first, then the dataset. Deleting the row is refused by the store itself while a
// mount names the volume (ON DELETE RESTRICT), in the same statement, so a container created
// meanwhile either holds the volume (EBUSY, naming the containers) or fails to mount it. With
// the dataset destroyed first, such a container was inserted between the check and the delete:
// the removal answered 409 and the volume was left with no dataset, its row removed at the next
// start (found by CrashConsistencyTest). Should destroying the dataset fail, the row is put
// back; a crash in between leaves a dataset without a row, which kleened's start destroys.
Result<void> remove_volume(storage::Storage& storage, VolumeRepository& repo,
                           const Volume& volume) {
  if (auto removed = repo.remove(volume.name); !removed) {
    if (removed.error().code == EBUSY) {
      const auto users = TRY(repo.users(volume.name));
      return make_error(EBUSY, "cannot remove volume " + volume.name +
                                   ": it is mounted in containers " + list_users(users));
    }
    if (removed.error().code != ENOENT) return removed;
  }
  const std::string dataset =
      volume.dataset.empty() ? storage.layout().volume(volume.name) : volume.dataset;
  auto destroyed = [&]() -> Result<void> {
    if (TRY(storage.exists(dataset))) TRY(storage.destroy(dataset, /*recursive=*/true));
    return {};
  }();
  if (!destroyed) {
    (void)repo.insert(volume);
    return destroyed;
  }
  return {};
}

Response failure(const Error& error) {
  return Response::message(error.code == EBUSY ? 409 : 500, error.message);
}

Response create(ApiContext& context, const Request& request) {
  const auto name_it = request.body.find("name");
  if (name_it == request.body.end()) return missing_field("name");
  if (!name_it->is_string()) {
    return Response::invalid("/name", std::string("Invalid string. Got: ") + name_it->type_name());
  }
  const std::string name = name_it->get<std::string>();
  if (!volume::is_valid_volume_name(name)) {
    return Response::invalid(
        "/name", "invalid volume name '" + name +
                     "': use letters, digits, '_', '.' and '-', starting with a letter or digit");
  }
  auto storage = ready_storage(context);
  if (!storage) return storage.error();

  std::lock_guard lock(volume::change_mutex());
  VolumeRepository repo(*context.store);
  // Kleene: creating an existing volume does nothing and names it.
  auto existing = repo.get(name);
  if (!existing) {
    if (existing.error().code != ENOENT) return Response::message(500, existing.error().message);
    if (auto created = create_volume(**storage, repo, name); !created)
      return failure(created.error());
  }
  return Response::json(201, nlohmann::json{{"id", name}});
}

Response list(ApiContext& context) {
  auto storage = ready_storage(context);
  if (!storage) return storage.error();
  auto volumes = VolumeRepository(*context.store).list();
  if (!volumes) return Response::message(500, volumes.error().message);
  nlohmann::json body = nlohmann::json::array();
  for (const auto& v : *volumes)
    body.push_back(volume::to_json(v));
  return Response::json(200, body);
}

Response inspect(ApiContext& context, const Request& request) {
  auto storage = ready_storage(context);
  if (!storage) return storage.error();
  VolumeRepository repo(*context.store);
  auto found = repo.get(request.param("volume_name").value_or(""));
  if (!found) {
    if (found.error().code == ENOENT) return Response::message(404, kNoSuchVolume);
    return Response::message(500, found.error().message);
  }
  auto mounts = repo.mountpoints(found->name);
  if (!mounts) return Response::message(500, mounts.error().message);
  nlohmann::json mountpoints = nlohmann::json::array();
  for (const auto& m : *mounts)
    mountpoints.push_back(volume::to_json(m));
  return Response::json(
      200, nlohmann::json{{"volume", volume::to_json(*found)}, {"mountpoints", mountpoints}});
}

Response remove(ApiContext& context, const Request& request) {
  auto storage = ready_storage(context);
  if (!storage) return storage.error();
  std::lock_guard lock(volume::change_mutex());
  VolumeRepository repo(*context.store);
  auto found = repo.get(request.param("volume_name").value_or(""));
  if (!found) {
    if (found.error().code == ENOENT) return Response::message(404, kNoSuchVolume);
    return Response::message(500, found.error().message);
  }
  if (auto removed = remove_volume(**storage, repo, *found); !removed)
    return failure(removed.error());
  return Response::json(200, nlohmann::json{{"id", found->name}});
}

// Every volume that no container mounts; the names removed, in the order removed.
Response prune(ApiContext& context) {
  auto storage = ready_storage(context);
  if (!storage) return storage.error();
  std::lock_guard lock(volume::change_mutex());
  VolumeRepository repo(*context.store);
  auto unused = repo.unused();
  if (!unused) return Response::message(500, unused.error().message);
  nlohmann::json pruned = nlohmann::json::array();
  for (const auto& v : *unused) {
    if (auto removed = remove_volume(**storage, repo, v); !removed) {
      if (removed.error().code == EBUSY) continue;  // a container mounted it meanwhile
      return Response::message(500, removed.error().message);
    }
    pruned.push_back(v.name);
  }
  return Response::json(200, pruned);
}

}  // namespace

void register_volume_routes(Router& router, ApiContext& context) {
  ApiContext* ctx = &context;
  router.post(
      "/volumes/create", [ctx](const Request& r) { return create(*ctx, r); }, kJsonBody);
  router.get("/volumes/list", [ctx](const Request&) { return list(*ctx); });
  router.post("/volumes/prune", [ctx](const Request&) { return prune(*ctx); });
  router.del("/volumes/{volume_name}", [ctx](const Request& r) { return remove(*ctx, r); });
  router.get("/volumes/{volume_name}/inspect",
             [ctx](const Request& r) { return inspect(*ctx, r); });
}

}  // namespace kleene::api
