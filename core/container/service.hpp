// The container lifecycle: create (clone of the image, mounts, rows), list, inspect, update,
// stop, remove, prune, and starting a container for an execution. Each operation takes the
// daemon's parts (Env) and returns a Result whose error code the API maps to Kleene's status:
// ENOENT 404, EEXIST/EBUSY 409, EINVAL 400, others 500.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "container/container.hpp"
#include "container/runtime_port.hpp"
#include "image/image.hpp"
#include "util/error.hpp"

namespace kleene::store {
class Store;
}
namespace kleene::storage {
class Storage;
}
namespace kleene::plugin {
class Registry;
}

namespace kleene::container {

struct Env {
  store::Store& store;
  storage::Storage& storage;
  RuntimePort& runtime;
  std::chrono::milliseconds stop_timeout{10000};
  // Names of loaded network plugins (besides Kleene's ipnet, vnet, host, disabled).
  std::vector<std::string> network_plugins;
  // The plugins (network drivers); null: containers get no network endpoints.
  plugin::Registry* plugins = nullptr;
  // Config ip_forwarding: kleened may turn the forwarding sysctls on (container/networking).
  bool ip_forwarding = true;
  // Config max_mounted_containers (0: no limit): see keep_mounts_in_budget in service.cpp.
  unsigned max_mounted_containers = 768;
};

// Start, stop, remove, prune, connect and disconnect of any container run one at a time, so "is
// it running" and what follows from the answer are never interleaved. Taken before
// network::NetworkService::lock() where both are held.
std::mutex& lifecycle_mutex();

// Kleene's driver names, the aliases we accept, and loaded plugins; EINVAL listing them.
Result<std::string> check_network_driver(std::string_view driver,
                                         const std::vector<std::string>& plugins);

// POST /containers/create. `name` from the query (wins over config.name); "" = a random one.
// `build_id`: the container is a step container of that build, marked so with its row.
Result<Container> create(Env& env, std::string name, ContainerConfig config,
                         std::string_view build_id = {});

// GET /containers/list: Kleene's ContainerSummary list (running ones only unless all).
Result<nlohmann::json> list(Env& env, bool all);

// GET /containers/{id}/inspect: {container, container_endpoints, container_mountpoints}.
Result<nlohmann::json> inspect(Env& env, std::string_view id_or_name);

// DELETE /containers/{id}: EBUSY "you cannot remove a running container" while it runs.
Result<std::string> remove(Env& env, std::string_view id_or_name);
// stop with lifecycle_mutex() held; EBUSY "container not running".
Result<void> stop_locked(Env& env, const Container& c);
// remove with lifecycle_mutex() held: its connections, its dataset, then its row; a dataset
// that is gone already is skipped (kleened died half-way through a removal).
Result<std::string> remove_locked(Env& env, const Container& c);

// POST /containers/{id}/stop: exec.stop in the container, stop (SIGTERM, SIGKILL after the
// timeout), exec.poststop on the host. EBUSY "container not running" when it does not run.
Result<std::string> stop(Env& env, std::string_view id_or_name);

struct UpdateResult {
  std::string id;
  std::string warning;  // jail parameters that need a restart, or a failed live update
};
// POST /containers/{id}/update: only what is sent changes (image, mounts, network_driver and
// public_ports are ignored, as in Kleene).
Result<UpdateResult> update(Env& env, std::string_view id_or_name, const ContainerConfig& config);

// POST /containers/prune: stopped, non-persist containers; the ids removed.
Result<std::vector<std::string>> prune(Env& env);

// Start a stopped container: exec.prestart on the host, the runtime's start, exec.start in
// the container. EEXIST when it already runs.
Result<void> start(Env& env, const Container& container);

// exec.poststop on the host.
void run_poststop(const Container& container);

// After an execution reported that its container ended with it: waits until the keeper has
// cleaned up (unless the container runs again meanwhile with another init than `init_pid`),
// then runs exec.poststop. Afterwards the container is reported as not running.
void settle_ended(Env& env, const Container& container, pid_t init_pid);

// The image `ident` (`ID | NAME[:TAG][@SNAPSHOT]`, the snapshot part aside) names; ENOENT
// "no such image '<ident>'".
Result<image::Image> find_image(Env& env, const std::string& ident);
// The dataset snapshot a reference to `image` stands for: <dataset>@image, or
// <dataset>@<snapshot> when it exists (ENOENT "no such snapshot '@<s>' of image '<ident>'").
Result<std::string> snapshot_for(Env& env, const image::Image& image, const std::string& snapshot,
                                 const std::string& ident);
// The image of a container (for cmd, env and user defaults).
Result<image::Image> image_of(Env& env, const Container& container);

}  // namespace kleene::container
