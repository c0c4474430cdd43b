// /images/*: Kleene's image routes. Build and create are WebSockets registered by
// image_build.hpp and image_create.hpp. The others answer from the store and, to remove images,
// through the storage facade.
#include <mutex>

#include "api/context.hpp"
#include "api/image_build.hpp"
#include "api/image_create.hpp"
#include "api/storage_ready.hpp"
#include "api/stubs.hpp"
#include "image/image.hpp"
#include "storage/storage.hpp"
#include "util/resolve.hpp"

namespace kleene::api {

namespace {

using image::Image;
using image::ImageRepository;

// Kleene's messages for an unknown image.
std::string no_such_image(std::string_view ident) {
  return "Error: No such image: " + std::string(ident) + "\n";
}
constexpr std::string_view kNoSuchImage = "No such image";

// A path's image identifier, `ID | NAME[:TAG]`; an invalid one is simply not found.
Result<Image> find_image(ImageRepository& repo, const image::ImageReference& ref) {
  return repo.resolve(ref.name_or_id, ref.tag);
}

// 404 for unknown or ambiguous identifiers (the latter naming the candidates), 500 otherwise.
Response lookup_failure(const Error& error, std::string_view not_found) {
  if (error.code == kErrAmbiguous) return Response::message(404, error.message);
  if (error.code == ENOENT || error.code == EINVAL) return Response::message(404, not_found);
  return Response::message(500, error.message);
}

std::string list_containers(const std::vector<image::ContainerRef>& containers) {
  std::string out;
  for (const auto& c : containers) {
    if (!out.empty()) out += ", ";
    out += c.id;
    if (!c.name.empty()) out += " (" + c.name + ")";
  }
  return out;
}

std::string list_images(const std::vector<Image>& images) {
  std::string out;
  for (const auto& i : images) {
    if (!out.empty()) out += ", ";
    out += i.id;
    if (!i.name.empty()) out += " (" + image::format_nametag(i) + ")";
  }
  return out;
}

// EBUSY naming what depends on the image, or nothing.
Result<void> check_unused(ImageRepository& repo, const Image& image) {
  const auto containers = TRY(repo.containers_using(image.id));
  if (!containers.empty()) {
    return make_error(EBUSY, "cannot remove image " + image.id + ": it is used by containers " +
                                 list_containers(containers));
  }
  const auto children = TRY(repo.children(image));
  if (!children.empty()) {
    return make_error(EBUSY, "cannot remove image " + image.id + ": images " +
                                 list_images(children) + " are built on it");
  }
  return {};
}

// The dataset goes first, the row second. If destroying fails, the row still describes a
// dataset that exists and the removal can be retried. If kleened dies in between, the row
// points at nothing: the next removal finds the dataset gone and only deletes the row. The
// other order could leave a dataset that no row knows of and nothing would ever remove.
Result<void> destroy_image(storage::Storage& storage, ImageRepository& repo, const Image& image) {
  const std::string dataset =
      image.dataset.empty() ? storage.layout().image(image.id) : image.dataset;
  if (TRY(storage.exists(dataset))) TRY(storage.destroy(dataset, /*recursive=*/true));
  auto removed = repo.remove(image.id);
  if (!removed && removed.error().code != ENOENT) return removed;
  return {};
}

// Kleene's prune: images no container uses and no image is built on; without `all` only the
// untagged ones. Removing an image can free its parent, so repeat until nothing changes.
Result<std::vector<std::string>> prune_images(storage::Storage& storage, ImageRepository& repo,
                                              bool all) {
  std::vector<std::string> pruned;
  for (bool changed = true; changed;) {
    changed = false;
    const auto images = TRY(repo.list());
    for (const Image& image : images) {
      if (!all && !image.name.empty()) continue;
      if (auto unused = check_unused(repo, image); !unused) {
        if (unused.error().code == EBUSY) continue;
        return std::unexpected(unused.error());
      }
      TRY(destroy_image(storage, repo, image));
      pruned.push_back(image.id);
      changed = true;
    }
  }
  return pruned;
}

// Kleene's boolean query parameters as OpenApiSpex casts them.
std::optional<bool> boolean_param(const std::string& value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return std::nullopt;
}

Response list(ApiContext& context) {
  auto storage = ready_storage(context);
  if (!storage) return storage.error();
  auto images = ImageRepository(*context.store).list();
  if (!images) return Response::message(500, images.error().message);
  nlohmann::json body = nlohmann::json::array();
  for (const auto& image : *images)
    body.push_back(image::to_json(image));
  return Response::json(200, body);
}

Response inspect(ApiContext& context, const Request& request) {
  auto storage = ready_storage(context);
  if (!storage) return storage.error();
  const std::string ident = request.param("image_id").value_or("");
  ImageRepository repo(*context.store);
  auto ref = image::parse_reference(ident);
  if (!ref) return Response::message(404, kNoSuchImage);
  auto found = find_image(repo, *ref);
  if (!found) return lookup_failure(found.error(), kNoSuchImage);
  return Response::json(200, image::to_json(*found));
}

Response remove(ApiContext& context, const Request& request) {
  auto storage = ready_storage(context);
  if (!storage) return storage.error();
  const std::string ident = request.param("image_id").value_or("");
  ImageRepository repo(*context.store);
  // A snapshot names a part of an image; removing "image@snapshot" would remove all of it.
  auto ref = image::parse_reference(ident);
  if (!ref || !ref->snapshot.empty()) return Response::message(404, no_such_image(ident));

  std::unique_lock lock(image::removal_mutex());
  auto found = find_image(repo, *ref);
  if (!found) return lookup_failure(found.error(), no_such_image(ident));
  if (auto unused = check_unused(repo, *found); !unused) {
    const auto& e = unused.error();
    return Response::message(e.code == EBUSY ? 409 : 500, e.message);
  }
  if (auto destroyed = destroy_image(**storage, repo, *found); !destroyed)
    return Response::message(500, destroyed.error().message);
  // Kleene answers with the identifier as the client gave it.
  return Response::json(200, nlohmann::json{{"id", ident}});
}

Response tag(ApiContext& context, const Request& request) {
  auto storage = ready_storage(context);
  if (!storage) return storage.error();
  const auto nametag = request.query_param("nametag");
  if (!nametag) return missing_field("nametag");
  auto parsed = image::parse_nametag(*nametag);
  if (!parsed) return Response::invalid("/nametag", parsed.error().message);

  const std::string ident = request.param("image_id").value_or("");
  ImageRepository repo(*context.store);
  auto ref = image::parse_reference(ident);
  if (!ref) return Response::message(404, no_such_image(ident));
  auto found = find_image(repo, *ref);
  if (!found) return lookup_failure(found.error(), no_such_image(ident));
  if (auto set = repo.set_nametag(found->id, parsed->first, parsed->second); !set)
    return Response::message(500, set.error().message);
  return Response::json(200, nlohmann::json{{"id", found->id}});
}

Response prune(ApiContext& context, const Request& request) {
  auto storage = ready_storage(context);
  if (!storage) return storage.error();
  const auto all_param = request.query_param("all");
  if (!all_param) return missing_field("all");
  const auto all = boolean_param(*all_param);
  if (!all) return Response::invalid("/all", "Invalid boolean. Got: string");

  std::unique_lock lock(image::removal_mutex());
  ImageRepository repo(*context.store);
  auto pruned = prune_images(**storage, repo, *all);
  if (!pruned) return Response::message(500, pruned.error().message);
  return Response::json(200, *pruned);
}

}  // namespace

void register_image_routes(Router& router, ApiContext& context) {
  ApiContext* ctx = &context;
  register_image_build_route(router, context);
  register_image_create_route(router, context);
  router.get("/images/list", [ctx](const Request&) { return list(*ctx); });
  router.post("/images/prune", [ctx](const Request& r) { return prune(*ctx, r); });
  router.del("/images/{image_id}", [ctx](const Request& r) { return remove(*ctx, r); });
  router.get("/images/{image_id}/inspect", [ctx](const Request& r) { return inspect(*ctx, r); });
  router.post("/images/{image_id}/tag", [ctx](const Request& r) { return tag(*ctx, r); });
}

}  // namespace kleene::api
