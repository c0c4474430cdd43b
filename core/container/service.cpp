// The container lifecycle (see service.hpp). Datasets first, rows second; whatever a failed
// create made is removed again.
#include "container/service.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "container/networking.hpp"
#include "container/populate.hpp"
#include "storage/storage.hpp"
#include "store/rows.hpp"
#include "store/store.hpp"
#include "util/ids.hpp"
#include "util/names.hpp"
#include "util/process.hpp"
#include "util/strings.hpp"
#include "util/time.hpp"
#include "volume/volume.hpp"

namespace kleene::container {

namespace {

using image::kImageSnapshot;

constexpr auto kHostHookTimeout = std::chrono::seconds(60);

// What a failed create made, removed in reverse on destruction unless released.
class CreateGuard {
 public:
  explicit CreateGuard(Env& env) : env_(env) {}
  ~CreateGuard() {
    if (released_) return;
    if (!volumes_.empty()) {
      // A volume this create made that another container mounts by now stays (its row is
      // refused removal while mounted).
      std::lock_guard lock(volume::change_mutex());
      volume::VolumeRepository volumes(env_.store);
      for (const auto& name : volumes_) {
        if (volumes.remove(name))
          (void)env_.storage.destroy(env_.storage.layout().volume(name), /*recursive=*/true);
      }
    }
    if (!dataset_.empty()) (void)env_.storage.destroy(dataset_, /*recursive=*/true);
  }
  CreateGuard(const CreateGuard&) = delete;
  CreateGuard& operator=(const CreateGuard&) = delete;
  void dataset(std::string name) { dataset_ = std::move(name); }
  void volume(std::string name) { volumes_.push_back(std::move(name)); }
  void release() { released_ = true; }

 private:
  Env& env_;
  std::string dataset_;
  std::vector<std::string> volumes_;
  bool released_ = false;
};

// The volume `name`, created (dataset + row) when missing; `created` tells which.
Result<volume::Volume> get_or_create_volume(Env& env, const std::string& name, bool& created) {
  volume::VolumeRepository volumes(env.store);
  created = false;
  auto found = volumes.get(name);
  if (found || found.error().code != ENOENT) return found;
  const std::string dataset = env.storage.layout().volume(name);
  if (!TRY(env.storage.exists(dataset))) TRY(env.storage.create_dataset(dataset));
  auto mountpoint = env.storage.mountpoint(dataset);
  if (!mountpoint) {
    (void)env.storage.destroy(dataset, true);
    return std::unexpected(mountpoint.error());
  }
  volume::Volume v{name, dataset, mountpoint->string(), iso8601_now()};
  auto inserted = volumes.insert(v);
  if (!inserted) {
    if (inserted.error().code == EEXIST) return volumes.get(name);  // created meanwhile
    (void)env.storage.destroy(dataset, true);
    return std::unexpected(inserted.error());
  }
  spdlog::info("volume {} created for a container mount", name);
  created = true;
  return v;
}

std::string host_hook_env_path() {
  return "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

// exec.prestart / exec.poststop: host commands from the (trusted) API caller, run with
// /bin/sh -c as FreeBSD's jail(8) does.
Result<void> run_host_hook(std::string_view kind, const std::string& command) {
  ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", command};
  spec.env = std::vector<std::string>{host_hook_env_path()};
  spec.timeout = kHostHookTimeout;
  auto ran = run_process(spec);
  if (!ran) return std::unexpected(ran.error().wrap(std::string(kind) + " '" + command + "'"));
  if (ran->exit_code != 0) {
    return make_error(EIO, std::string(kind) + " '" + command + "' exited with exit-code " +
                               std::to_string(ran->exit_code) + ": " + std::string(trim(ran->err)));
  }
  return {};
}

// exec.start / exec.stop: /bin/sh -c in the container; the exit code. A command still running
// after `timeout` is killed (SIGKILL), so a hanging hook cannot hold a start or stop forever.
Result<int> run_in_container(Env& env, const Container& c, const runtime::JailParams& params,
                             const std::string& command) {
  runtime::ProcessSpec process;
  process.exec_id = generate_id();
  process.argv = {"/bin/sh", "-c", command};
  process.env = c.env;
  process.user = params.jail_user;
  auto execution = TRY(env.runtime.exec(c.id, process, /*attach=*/true));
  if (!execution) return 0;
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;
  std::thread watchdog([&] {
    std::unique_lock lock(mutex);
    if (finished.wait_for(lock, env.stop_timeout, [&] { return done; })) return;
    spdlog::warn("container {}: '{}' still runs after {} ms; killing it", c.id, command,
                 env.stop_timeout.count());
    (void)env.runtime.stop_exec(c.id, process.exec_id, /*force=*/true);
  });
  Result<int> result = make_error(EPIPE, "no exit from '" + command + "'");
  for (;;) {
    auto event = execution->next();
    if (!event) {
      result = std::unexpected(event.error());
      break;
    }
    if (event->kind == runtime::ExecEvent::Kind::exit) {
      result = event->exit_code;
      break;
    }
  }
  {
    std::lock_guard lock(mutex);
    done = true;
  }
  finished.notify_all();
  watchdog.join();
  return result;
}

runtime::JailParams params_or_default(const Container& c) {
  auto params = parse_params(c.jail_param);
  if (!params) {
    spdlog::warn("container {}: stored jail parameters no longer parse ({}); using defaults", c.id,
                 params.error().message);
    return {};
  }
  return *params;
}

}  // namespace

Result<void> stop_locked(Env& env, const Container& c) {
  if (!env.runtime.state(c.id)) return make_error(EBUSY, "container not running");
  const auto params = params_or_default(c);
  for (const auto& command : params.exec_stop) {
    auto code = run_in_container(env, c, params, command);
    if (!code)
      spdlog::warn("container {}: exec.stop '{}': {}", c.id, command, code.error().message);
    else if (*code != 0)
      spdlog::warn("container {}: exec.stop '{}' exited with exit-code {}", c.id, command, *code);
  }
  auto stopped = env.runtime.stop(c.id, env.stop_timeout);
  if (!stopped && stopped.error().code != ENOENT) return stopped;
  networking::detach(env, c);
  run_poststop(c);
  spdlog::info("container {} stopped", c.id);
  return {};
}

Result<std::string> remove_locked(Env& env, const Container& c) {
  if (env.runtime.state(c.id)) return make_error(EBUSY, "you cannot remove a running container");
  TRY(networking::disconnect_all_locked(env, c));
  const std::string dataset = c.dataset.empty() ? env.storage.layout().container(c.id) : c.dataset;
  // One storage call: a dataset that is gone already is what removing wants.
  if (auto destroyed = env.storage.destroy(dataset, /*recursive=*/true);
      !destroyed && destroyed.error().code != ENOENT)
    return std::unexpected(destroyed.error());
  auto removed = ContainerRepository(env.store).remove(c.id);
  if (!removed && removed.error().code != ENOENT) return std::unexpected(removed.error());
  spdlog::info("container {} removed", c.id);
  return c.id;
}

namespace {

// zfs-fuse mounts at most ~1000 file systems, and every container is a mounted dataset: without
// a budget, kleene on zfs-fuse holds ~990 containers. So the number of mounted container
// datasets is checked every `every` creates and starts (one listing of the datasets and the
// mount table), and above the budget the oldest stopped containers are unmounted down to
// budget - every, so the creates until the next check stay within it. A start mounts its
// container again (Storage::mountpoint). With lifecycle_mutex() held (a start of the same
// container cannot race the unmount).
void keep_mounts_in_budget(Env& env, const std::string& keep) {
  const std::size_t budget = env.max_mounted_containers;
  if (budget == 0) return;
  const std::size_t every = std::max<std::size_t>(1, budget / 16);
  static std::atomic<std::size_t> calls{0};
  if (calls.fetch_add(1) % every != 0) return;
  auto mounted_list = env.storage.mounted_below(env.storage.layout().containers());
  if (!mounted_list) return;  // an older storage plugin: no budget
  std::set<std::string> mounted(mounted_list->begin(), mounted_list->end());
  auto rows = ContainerRepository(env.store).list();  // newest first
  if (!rows) return;
  // `keep` counts as mounted: a start mounts it right after this.
  std::size_t extra = 1;
  auto dataset_of = [&](const Container& c) {
    return c.dataset.empty() ? env.storage.layout().container(c.id) : c.dataset;
  };
  for (const auto& c : *rows)
    if (c.id == keep && mounted.contains(dataset_of(c))) extra = 0;
  if (mounted.size() + extra <= budget) return;
  const std::size_t target = budget > every ? budget - every : budget;
  std::size_t unmounted = 0;
  for (auto it = rows->rbegin(); it != rows->rend() && mounted.size() + extra > target; ++it) {
    const auto dataset = dataset_of(*it);
    if (it->id == keep || !mounted.contains(dataset) || env.runtime.state(it->id)) continue;
    if (auto done = env.storage.unmount(dataset); !done) {
      spdlog::debug("container {}: not unmounted: {}", it->id, done.error().message);
      continue;
    }
    mounted.erase(dataset);
    ++unmounted;
  }
  spdlog::info(
      "{} container datasets were mounted (max_mounted_containers {}): unmounted {} of "
      "stopped containers",
      mounted.size() + unmounted, budget, unmounted);
}

}  // namespace

std::mutex& lifecycle_mutex() {
  static std::mutex mutex;
  return mutex;
}

Result<std::string> snapshot_for(Env& env, const image::Image& image, const std::string& snapshot,
                                 const std::string& ident) {
  if (image.dataset.empty()) return make_error(ENOENT, "image '" + ident + "' has no dataset");
  if (snapshot.empty()) return image.dataset + std::string(kImageSnapshot);
  const std::string full = image.dataset + "@" + snapshot;
  if (!TRY(env.storage.exists(full)))
    return make_error(ENOENT, "no such snapshot '@" + snapshot + "' of image '" + ident + "'");
  return full;
}

Result<image::Image> find_image(Env& env, const std::string& ident) {
  auto ref = image::parse_reference(ident);
  if (!ref) return make_error(ENOENT, "no such image '" + ident + "'");
  auto found = image::ImageRepository(env.store).resolve(ref->name_or_id, ref->tag);
  if (!found) {
    if (found.error().code == ENOENT) return make_error(ENOENT, "no such image '" + ident + "'");
    return std::unexpected(found.error());
  }
  return found;
}

Result<std::string> check_network_driver(std::string_view driver,
                                         const std::vector<std::string>& plugins) {
  if (driver == "loopback") return std::string("ipnet");
  static const std::vector<std::string> kKleene = {"ipnet", "host", "vnet", "disabled"};
  if (std::ranges::find(kKleene, driver) != kKleene.end()) return std::string(driver);
  if (std::ranges::find(plugins, driver) != plugins.end()) return std::string(driver);
  std::vector<std::string> known = kKleene;
  known.push_back("loopback");
  for (const auto& p : plugins)
    if (std::ranges::find(known, p) == known.end()) known.push_back(p);
  return make_error(EINVAL, "unknown network driver '" + std::string(driver) +
                                "'; available: " + join(known, ", "));
}

Result<image::Image> image_of(Env& env, const Container& container) {
  return image::ImageRepository(env.store).get(container.image_id);
}

Result<Container> create(Env& env, std::string name, ContainerConfig config,
                         std::string_view build_id) {
  if (name.empty() && config.name) name = *config.name;
  if (!name.empty()) name = TRY(check_name(name));
  if (!config.image || config.image->empty())
    return make_error(EINVAL, "an image is required to create a container");
  const std::string ident = *config.image;
  // Until the row is written no image removal runs (image::removal_mutex(); taken before the
  // volumes' lock, here and in the guard).
  std::shared_lock image_lock(image::removal_mutex());
  const auto image = TRY(find_image(env, ident));
  const auto ref = TRY(image::parse_reference(ident));
  (void)TRY(parse_params(config.jail_param.value_or(std::vector<std::string>{})));
  const std::string driver =
      TRY(check_network_driver(config.network_driver.value_or("ipnet"), env.network_plugins));
  nlohmann::json ports = config.public_ports.value_or(nlohmann::json::array());
  if (!ports.empty() && (driver == "host" || driver == "disabled")) {
    return make_error(
        EINVAL, "cannot publish ports of a container using the '" + driver + "' network driver");
  }
  std::vector<MountConfig> mounts = config.mounts.value_or(std::vector<MountConfig>{});
  TRY(check_mounts(mounts));
  const std::string snapshot = TRY(snapshot_for(env, image, ref.snapshot, ident));

  Container c;
  c.id = generate_id();
  c.name = name;
  c.image_id = image.id;
  c.cmd = effective_cmd({}, config.cmd.value_or(std::vector<std::string>{}), image.cmd);
  // A built image's ENTRYPOINT runs with the command as its arguments (Docker's rule).
  if (auto it = image.config.find("entrypoint");
      it != image.config.end() && it->is_array() && !it->empty()) {
    auto argv = store::string_list(*it);
    argv.insert(argv.end(), c.cmd.begin(), c.cmd.end());
    c.cmd = std::move(argv);
  }
  c.user = config.user.value_or("");
  c.env = merge_env(image.env, config.env.value_or(std::vector<std::string>{}));
  c.jail_param = config.jail_param.value_or(std::vector<std::string>{});
  c.persist = config.persist.value_or(false);
  c.restart_policy = config.restart_policy.value_or("no");
  c.network_driver = driver;
  c.public_ports = ports;
  c.dataset = env.storage.layout().container(c.id);
  c.created = iso8601_now();

  CreateGuard guard(env);
  TRY(env.storage.clone(snapshot, c.dataset));
  guard.dataset(c.dataset);
  const auto rootfs = TRY(env.storage.mountpoint(c.dataset));

  // From taking its volumes to inserting its mounts, no volume removal runs (it could destroy
  // a volume found here before the mount row holds it). Unlocked before the guard runs.
  std::unique_lock volumes_lock(volume::change_mutex(), std::defer_lock);
  if (std::ranges::any_of(mounts, [](const MountConfig& m) { return m.type == "volume"; }))
    volumes_lock.lock();
  std::vector<volume::MountPoint> rows;
  for (const auto& m : mounts) {
    if (m.type == "volume") {
      bool created = false;
      const auto vol = TRY(get_or_create_volume(env, m.source, created));
      if (created) guard.volume(vol.name);
      if (TRY(directory_is_empty(vol.mountpoint)))
        TRY(populate_from_rootfs(rootfs, m.destination, vol.mountpoint));
    }
    rows.push_back({c.id, m.type, m.source, m.destination, m.read_only});
  }

  ContainerRepository repo(env.store);
  const bool generated = c.name.empty();
  for (int attempt = 0;; ++attempt) {
    if (generated) c.name = generate_name();
    auto inserted = repo.insert(c, rows, build_id);
    if (inserted) break;
    if (inserted.error().code != EEXIST || !generated || attempt >= 20)
      return std::unexpected(inserted.error());
  }
  guard.release();
  if (volumes_lock.owns_lock()) volumes_lock.unlock();
  image_lock.unlock();
  spdlog::info("container {} ({}) created from image {}", c.id, c.name, image.id);
  {
    std::lock_guard lock(lifecycle_mutex());
    keep_mounts_in_budget(env, c.id);
  }
  return c;
}

Result<nlohmann::json> list(Env& env, bool all) {
  ContainerRepository repo(env.store);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : TRY(repo.list())) {
    const auto state = env.runtime.state(c.id);
    if (!all && !state) continue;
    auto summary = to_json(c, state.has_value());
    const auto [image_name, image_tag] = TRY(repo.image_nametag(c.image_id));
    summary["image_name"] = image_name;
    summary["image_tag"] = image_tag;
    summary["jid"] = state ? nlohmann::json(state->init_pid) : nlohmann::json(nullptr);
    out.push_back(std::move(summary));
  }
  return out;
}

Result<nlohmann::json> inspect(Env& env, std::string_view id_or_name) {
  ContainerRepository repo(env.store);
  const auto c = TRY(repo.resolve(id_or_name));
  nlohmann::json mountpoints = nlohmann::json::array();
  for (const auto& m : TRY(repo.mounts(c.id)))
    mountpoints.push_back(volume::to_json(m));
  return nlohmann::json{{"container", to_json(c, env.runtime.state(c.id).has_value())},
                        {"container_endpoints", TRY(repo.endpoints(c.id))},
                        {"container_mountpoints", mountpoints}};
}

Result<std::string> remove(Env& env, std::string_view id_or_name) {
  const auto c = TRY(ContainerRepository(env.store).resolve(id_or_name));
  std::lock_guard lock(lifecycle_mutex());
  return remove_locked(env, c);
}

Result<std::string> stop(Env& env, std::string_view id_or_name) {
  const auto c = TRY(ContainerRepository(env.store).resolve(id_or_name));
  std::lock_guard lock(lifecycle_mutex());
  TRY(stop_locked(env, c));
  return c.id;
}

Result<UpdateResult> update(Env& env, std::string_view id_or_name, const ContainerConfig& config) {
  ContainerRepository repo(env.store);
  const auto old = TRY(repo.resolve(id_or_name));
  Container c = old;
  if (config.name) c.name = TRY(check_name(*config.name));
  if (config.user) c.user = *config.user;
  if (config.env) c.env = *config.env;
  if (config.cmd) c.cmd = *config.cmd;
  if (config.persist) c.persist = *config.persist;
  if (config.restart_policy) c.restart_policy = *config.restart_policy;
  runtime::JailParams new_params;
  if (config.jail_param) {
    new_params = TRY(parse_params(*config.jail_param));
    c.jail_param = *config.jail_param;
  }
  TRY(repo.update(c));
  UpdateResult result{c.id, {}};
  if (config.jail_param && env.runtime.state(c.id)) {
    const auto needing = restart_needed(params_or_default(old), new_params);
    if (auto applied = env.runtime.update(c.id, new_params); !applied) {
      result.warning = "could not apply the jail parameters to the running container: " +
                       applied.error().message;
    } else if (!needing.empty()) {
      result.warning =
          "the container must be restarted for these jail parameters to take "
          "effect: " +
          join(needing, ", ");
    }
  }
  spdlog::info("container {} updated", c.id);
  return result;
}

Result<std::vector<std::string>> prune(Env& env) {
  std::vector<std::string> removed;
  std::lock_guard lock(lifecycle_mutex());
  for (const auto& c : TRY(ContainerRepository(env.store).list())) {
    if (c.persist || env.runtime.state(c.id)) continue;
    removed.push_back(TRY(remove_locked(env, c)));
  }
  return removed;
}

Result<void> start(Env& env, const Container& c) {
  std::lock_guard lock(lifecycle_mutex());
  if (env.runtime.state(c.id)) return make_error(EEXIST, "container already running");
  const auto params = TRY(parse_params(c.jail_param));
  keep_mounts_in_budget(env, c.id);
  runtime::ContainerSpec spec;
  spec.id = c.id;
  spec.rootfs = TRY(env.storage.mountpoint(c.dataset));
  spec.hostname = params.hostname.empty() ? c.id : params.hostname;
  spec.params = params;
  const auto driver = TRY(networking::driver(env, c.network_driver));
  spec.own_network = driver.own_netns();
  volume::VolumeRepository volumes(env.store);
  for (const auto& m : TRY(ContainerRepository(env.store).mounts(c.id))) {
    runtime::MountSpec mount{m.source, m.destination, m.read_only};
    if (m.type == "volume") mount.source = TRY(volumes.get(m.source)).mountpoint;
    spec.mounts.push_back(std::move(mount));
  }
  for (const auto& command : params.exec_prestart)
    TRY(run_host_hook("exec.prestart", command));
  networking::prepare_start(env, c);
  auto started = env.runtime.start(spec, networking::attach_hook(env, c));
  if (!started) {
    run_poststop(c);
    return std::unexpected(started.error());
  }
  networking::after_start(env, c);
  spdlog::info("container {} started (init pid {})", c.id, started->init_pid);
  for (const auto& command : params.exec_start) {
    auto code = run_in_container(env, c, params, command);
    if (!code || *code != 0) {
      const std::string why =
          code ? "exited with exit-code " + std::to_string(*code) : code.error().message;
      (void)env.runtime.stop(c.id, env.stop_timeout);
      networking::detach(env, c);
      run_poststop(c);
      return make_error(EIO, "exec.start '" + command + "' " + why);
    }
  }
  return {};
}

void settle_ended(Env& env, const Container& c, pid_t init_pid) {
  {
    std::lock_guard lock(lifecycle_mutex());
    const auto state = env.runtime.state(c.id);
    if (state && (init_pid == 0 || state->init_pid == init_pid)) {
      if (auto stopped = env.runtime.stop(c.id, env.stop_timeout);
          !stopped && stopped.error().code != ENOENT)
        spdlog::warn("container {}: waiting for its keeper: {}", c.id, stopped.error().message);
    } else if (state) {
      return;  // started again meanwhile: not ours to settle
    }
    networking::detach(env, c);
  }
  run_poststop(c);
}

void run_poststop(const Container& c) {
  const auto params = params_or_default(c);
  for (const auto& command : params.exec_poststop) {
    if (auto ran = run_host_hook("exec.poststop", command); !ran)
      spdlog::warn("container {}: {}", c.id, ran.error().message);
  }
}

}  // namespace kleene::container
