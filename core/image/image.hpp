// Images as kleened keeps them (Kleene's Image schema) and their table in the store.
#pragma once

#include <cstddef>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace kleene::store {
class Store;
}

namespace kleene::image {

// The snapshot of an image's dataset that containers are cloned from (Kleene's layout).
inline constexpr std::string_view kImageSnapshot = "@image";

struct Image {
  std::string id;
  std::string name;  // may be empty
  std::string tag;   // may be empty (no name)
  std::vector<std::string> cmd = {"/bin/sh"};
  std::vector<std::string> env;
  std::string user = "root";
  // [["<instruction>", "<snapshot or empty>"], ...] as in Kleene
  nlohmann::json instructions = nlohmann::json::array();
  nlohmann::json buildargs = nlohmann::json::object();
  std::string dataset;          // storage dataset of the image
  std::string parent_snapshot;  // "<image dataset>@<snap>" it was cloned from, or empty
  std::string created;          // ISO-8601 UTC with microseconds
  // Beyond Kleene's schema, set by builds: {"entrypoint": [...], "workdir": "/x", "labels": {},
  // "exposed_ports": ["80/tcp"]}; any of them may be missing.
  nlohmann::json config = nlohmann::json::object();
  // Build cache entries written with the image (insert only): cache key -> "@snapshot".
  std::vector<std::pair<std::string, std::string>> cache;
};

// A build cache hit: the image and the snapshot of its dataset the step made.
struct CacheEntry {
  std::string image_id;
  std::string snapshot;  // "@<snapshot>"
};

nlohmann::json to_json(const Image& image);  // Kleene's Image schema

struct ContainerRef {  // a container that depends on an image or mounts a volume
  std::string id;
  std::string name;
};

// Kleene's nametag rules: letters, digits, '_', '.', '-' (and '/' in names, as in
// "FreeBSD-13.2/base"); not starting with '.', '-' or '/'; at most 128 characters.
inline constexpr std::size_t kMaxNametagLength = 128;
bool is_valid_image_name(std::string_view name);
bool is_valid_tag(std::string_view tag);
// "name:tag", or "" for an image without a name.
std::string format_nametag(const Image& image);

// `ID | NAME[:TAG] [@SNAPSHOT]`. A missing tag is "latest" when a name is given.
struct ImageReference {
  std::string name_or_id;
  std::string tag;       // empty when the reference has no ':'
  std::string snapshot;  // without '@'; empty when none
};
Result<ImageReference> parse_reference(std::string_view text);
// "name:tag" -> {name, tag}, "name" -> {name, "latest"}; EINVAL on an invalid name or tag.
Result<std::pair<std::string, std::string>> parse_nametag(std::string_view nametag);

// CRUD on the images table. Inserting a name:tag already held by another image moves it
// (the other image loses its name and tag), in one transaction.
class ImageRepository {
 public:
  explicit ImageRepository(store::Store& store) : store_(store) {}
  Result<void> insert(const Image& image);
  Result<Image> get(std::string_view id);
  Result<std::vector<Image>> list();  // newest first
  // Resolve ID | NAME[:TAG] (full id, then name:tag, then unique id prefix); ENOENT/ENOTUNIQ.
  Result<Image> resolve(std::string_view name_or_id, std::string_view tag = {});
  Result<void> set_nametag(std::string_view id, std::string_view name, std::string_view tag);
  Result<void> remove(std::string_view id);  // EBUSY while a container row refers to it

  // What keeps an image from being removed.
  Result<std::vector<ContainerRef>> containers_using(std::string_view id);
  // The build cache: the snapshot a step with this key made, if its image still exists.
  Result<std::optional<CacheEntry>> cached(std::string_view key);
  // Images built on `image`: their parent_snapshot is a snapshot of its dataset.
  Result<std::vector<Image>> children(const Image& image);

 private:
  store::Store& store_;
};

// Image removals (rm, prune) hold it exclusively, so the dependency check and the removal it
// allows are never interleaved with another removal; a container create holds it shared from
// finding its image to writing its row, so a removal either sees the container (409) or comes
// before the image is found. Without it a removal between the clone and the row failed with
// zfs's "dependent clones" (500).
std::shared_mutex& removal_mutex();

}  // namespace kleene::image
