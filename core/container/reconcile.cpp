#include "container/reconcile.hpp"

#include <spdlog/spdlog.h>

#include <optional>
#include <vector>

#include "image/image.hpp"
#include "storage/storage.hpp"
#include "volume/volume.hpp"

namespace kleene::container {

namespace {

// The datasets below `parent`, or nothing when storage cannot say (then nothing is repaired on
// that side: an unreadable pool must not look like an empty one).
std::optional<std::set<std::string>> datasets_below(storage::Storage& storage,
                                                    const std::string& parent) {
  auto listed = storage.list_datasets(parent);
  if (!listed) {
    spdlog::warn(
        "reconcile: cannot list the datasets below {}: {}; not comparing them with the "
        "store",
        parent, listed.error().message);
    return std::nullopt;
  }
  return std::set<std::string>(listed->begin(), listed->end());
}

class Reconciler {
 public:
  Reconciler(Env& env, const std::set<std::string>& running) : env_(env), running_(running) {}

  // A build lives in kleened's memory: the containers of a build that died with kleened are
  // stopped and removed, as the build would have done.
  void build_containers() {
    ContainerRepository repo(env_.store);
    auto ids = repo.build_containers();
    if (!ids) return failed("cannot list build containers", ids.error());
    for (const auto& id : *ids) {
      auto c = repo.get(id);
      if (!c) continue;
      spdlog::warn(
          "reconcile: container {} belongs to a build that ended with kleened: removing "
          "it",
          id);
      if (running_.contains(id)) {
        if (auto stopped = stop_locked(env_, *c); !stopped) {
          failed("build container " + id, stopped.error());
          continue;
        }
        running_.erase(id);
      }
      if (auto removed = remove_locked(env_, *c); !removed)
        failed("build container " + id, removed.error());
      else
        ++report_.rows_removed;
    }
  }

  void containers() {
    const auto& layout = env_.storage.layout();
    const auto datasets = datasets_below(env_.storage, layout.containers());
    auto rows = ContainerRepository(env_.store).list();
    if (!rows) return failed("cannot list containers", rows.error());
    if (!datasets) return;
    std::set<std::string> known;
    for (const auto& c : *rows) {
      const std::string dataset = c.dataset.empty() ? layout.container(c.id) : c.dataset;
      known.insert(dataset);
      if (datasets->contains(dataset) || running_.contains(c.id)) continue;
      spdlog::warn("reconcile: container {} ({}) has no dataset {}: removing its row", c.id, c.name,
                   dataset);
      if (auto removed = remove_locked(env_, c); !removed)
        failed("container " + c.id, removed.error());
      else
        ++report_.rows_removed;
    }
    for (const auto& dataset : *datasets) {
      if (known.contains(dataset)) continue;
      if (running_.contains(leaf(dataset))) {
        spdlog::warn("reconcile: dataset {} has no container row but its container runs: kept",
                     dataset);
        continue;
      }
      destroy(dataset, "no container row");
    }
  }

  void images() {
    const auto& layout = env_.storage.layout();
    const auto datasets = datasets_below(env_.storage, layout.images());
    image::ImageRepository repo(env_.store);
    auto rows = repo.list();
    if (!rows) return failed("cannot list images", rows.error());
    if (!datasets) return;
    std::set<std::string> known;
    for (const auto& image : *rows) {
      const std::string dataset = image.dataset.empty() ? layout.image(image.id) : image.dataset;
      known.insert(dataset);
      if (datasets->contains(dataset)) continue;
      auto users = repo.containers_using(image.id);
      if (users && !users->empty()) {
        spdlog::warn("reconcile: image {} has no dataset {} but {} containers refer to it: kept",
                     image.id, dataset, users->size());
        continue;
      }
      spdlog::warn("reconcile: image {} has no dataset {}: removing its row", image.id, dataset);
      if (auto removed = repo.remove(image.id); !removed)
        failed("image " + image.id, removed.error());
      else
        ++report_.rows_removed;
    }
    // A dataset whose snapshots have clones (containers, images built on it) cannot be
    // destroyed; zfs refuses and the failure is logged: those have rows by construction.
    for (const auto& dataset : *datasets)
      if (!known.contains(dataset)) destroy(dataset, "no image row");
  }

  void volumes() {
    const auto& layout = env_.storage.layout();
    const auto datasets = datasets_below(env_.storage, layout.volumes());
    volume::VolumeRepository repo(env_.store);
    auto rows = repo.list();
    if (!rows) return failed("cannot list volumes", rows.error());
    if (!datasets) return;
    std::set<std::string> known;
    for (const auto& v : *rows) {
      const std::string dataset = v.dataset.empty() ? layout.volume(v.name) : v.dataset;
      known.insert(dataset);
      if (datasets->contains(dataset)) continue;
      auto users = repo.users(v.name);
      if (users && !users->empty()) {
        // Containers mount it by name: an empty volume is what a new one would be.
        spdlog::warn(
            "reconcile: volume {} has no dataset {} and containers mount it: making "
            "it again, empty",
            v.name, dataset);
        if (auto made = env_.storage.create_dataset(dataset); !made)
          failed("volume " + v.name, made.error());
        else
          ++report_.datasets_recreated;
        continue;
      }
      spdlog::warn("reconcile: volume {} has no dataset {}: removing its row", v.name, dataset);
      if (auto removed = repo.remove(v.name); !removed)
        failed("volume " + v.name, removed.error());
      else
        ++report_.rows_removed;
    }
    for (const auto& dataset : *datasets)
      if (!known.contains(dataset)) destroy(dataset, "no volume row");
  }

  ReconcileReport report() const { return report_; }

 private:
  static std::string leaf(const std::string& dataset) {
    return dataset.substr(dataset.rfind('/') + 1);
  }

  void destroy(const std::string& dataset, const char* why) {
    spdlog::warn("reconcile: dataset {} has {}: destroying it", dataset, why);
    if (auto destroyed = env_.storage.destroy(dataset, /*recursive=*/true); !destroyed)
      failed("dataset " + dataset, destroyed.error());
    else
      ++report_.datasets_destroyed;
  }

  void failed(const std::string& what, const Error& error) {
    spdlog::warn("reconcile: {}: {}", what, error.message);
    ++report_.failures;
  }

  Env& env_;
  std::set<std::string> running_;
  ReconcileReport report_;
};

}  // namespace

ReconcileReport reconcile_storage(Env& env, const std::set<std::string>& running) {
  Reconciler reconciler(env, running);
  // Containers first: removing a container's row can leave an image or a volume unused.
  reconciler.build_containers();
  reconciler.containers();
  reconciler.images();
  reconciler.volumes();
  const auto report = reconciler.report();
  if (report.datasets_destroyed + report.rows_removed + report.datasets_recreated +
          report.failures >
      0) {
    spdlog::info(
        "reconcile: {} datasets destroyed, {} rows removed, {} datasets made again, {} "
        "repairs failed",
        report.datasets_destroyed, report.rows_removed, report.datasets_recreated, report.failures);
  }
  return report;
}

}  // namespace kleene::container
