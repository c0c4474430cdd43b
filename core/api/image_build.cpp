#include "api/image_build.hpp"

#include <sys/stat.h>

#include <atomic>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/spdlog.h>

#include "api/build_context.hpp"
#include "api/container_env.hpp"
#include "api/context.hpp"
#include "api/router.hpp"
#include "api/websocket.hpp"
#include "api/ws_configs.hpp"
#include "config/config.hpp"
#include "container/networking.hpp"
#include "container/service.hpp"
#include "container/utf8.hpp"
#include "image/create/extract.hpp"
#include "image/image.hpp"
#include "network/config.hpp"
#include "plugin/registry.hpp"
#include "storage/storage.hpp"
#include "store/rows.hpp"
#include "util/ids.hpp"
#include "util/time.hpp"

namespace kleene::api {

namespace {

using image::kImageSnapshot;

using nlohmann::json;

constexpr std::string_view kCancelled = "build cancelled";

// One build: its client, its parts and what it made.
struct Build {
  std::string id;
  WsSession* ws = nullptr;
  container::Env* env = nullptr;
  container::ContainerConfig container_config;
  std::vector<network::EndPointConfig> networks;
  bool quiet = false;
  std::atomic<bool> cancelled{false};

  std::mutex mutex;                  // guards what follows
  std::set<std::string> containers;  // created by this build and not removed yet
  std::string exec_container, exec_id;
  std::mutex output;  // one writer of frames at a time
};

class Builds {
 public:
  void add(Build& build) {
    std::lock_guard lock(mutex_);
    builds_[build.id] = &build;
  }
  void remove(const std::string& id) {
    std::lock_guard lock(mutex_);
    builds_.erase(id);
  }
  // The build of that id; builds are removed only after their plugin call returned, and the
  // engine operations run inside that call.
  Build* find(const std::string& id) {
    std::lock_guard lock(mutex_);
    auto it = builds_.find(id);
    return it == builds_.end() ? nullptr : it->second;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, Build*, std::less<>> builds_;
};

Builds& builds() {
  static Builds registry;
  return registry;
}

Result<std::string> string_field(const json& request, const char* key) {
  auto it = request.find(key);
  if (it == request.end() || !it->is_string())
    return make_error(EINVAL, std::string("missing string field '") + key + "'");
  return it->get<std::string>();
}

std::vector<std::string> strings_field(const json& request, const char* key) {
  auto it = request.find(key);
  return it == request.end() || !it->is_array() ? std::vector<std::string>{}
                                                : store::string_list(*it);
}

Result<void> check_live(const Build& build) {
  if (build.cancelled.load()) return make_error(ECANCELED, std::string(kCancelled));
  return {};
}

// The build's own container named by the request.
Result<container::Container> own_container(Build& build, const json& request) {
  const auto id = TRY(string_field(request, "container"));
  {
    std::lock_guard lock(build.mutex);
    if (!build.containers.contains(id))
      return make_error(ENOENT, "container " + id + " is not a container of build " + build.id);
  }
  return container::ContainerRepository(build.env->store).get(id);
}

void send_text(Build& build, std::string_view text, bool binary = false) {
  std::lock_guard lock(build.output);
  (void)build.ws->send_output(text, binary);
}

Result<json> op_emit(Build& build, const json& request) {
  TRY(check_live(build));
  send_text(build, TRY(string_field(request, "data")));
  return json::object();
}

// The image the request's "image" names, and the dataset snapshot the reference stands for.
Result<std::pair<image::Image, std::string>> requested_image(Build& build, const json& request) {
  const auto ident = TRY(string_field(request, "image"));
  auto image = TRY(container::find_image(*build.env, ident));
  const auto ref = TRY(image::parse_reference(ident));
  auto snapshot = TRY(container::snapshot_for(*build.env, image, ref.snapshot, ident));
  return std::pair{std::move(image), std::move(snapshot)};
}

Result<json> op_image_inspect(Build& build, const json& request) {
  const auto [image, snapshot] = TRY(requested_image(build, request));
  return json{{"image", image::to_json(image)}, {"snapshot", snapshot}};
}

Result<json> op_cache_lookup(Build& build, const json& request) {
  const auto key = TRY(string_field(request, "key"));
  const auto hit = TRY(image::ImageRepository(build.env->store).cached(key));
  if (!hit) return json::object();
  // Only a snapshot that still exists is a hit (an image's dataset can be changed by hand).
  const auto image = image::ImageRepository(build.env->store).get(hit->image_id);
  if (!image || !TRY(build.env->storage.exists(image->dataset + hit->snapshot)))
    return json::object();
  return json{{"image", hit->image_id}, {"snapshot", hit->snapshot}};
}

Result<json> op_container_create(Build& build, const json& request) {
  TRY(check_live(build));
  auto& env = *build.env;
  container::ContainerConfig config = build.container_config;
  config.name.reset();
  config.cmd = std::vector<std::string>{"/bin/sh"};
  // The container lives between the steps' processes.
  auto params = config.jail_param.value_or(std::vector<std::string>{});
  params.emplace_back("persist");
  config.jail_param = std::move(params);
  config.public_ports.reset();
  config.persist = false;
  config.restart_policy = "no";
  // {container, snapshot}: a copy of another build container's snapshot (a stage built on an
  // earlier stage), so neither depends on the other.
  std::optional<container::Container> source;
  std::string source_snapshot;
  if (request.contains("container")) {
    source = TRY(own_container(build, request));
    source_snapshot = TRY(string_field(request, "snapshot"));
    if (source_snapshot.empty() || source_snapshot.front() != '@' ||
        source_snapshot.find('/') != std::string::npos)
      return make_error(EINVAL, "container_create: invalid snapshot '" + source_snapshot + "'");
    config.image = source->image_id;
  } else {
    config.image = TRY(string_field(request, "image"));
  }
  // Marked in the store with its row: if kleened dies mid-build, its next start removes it.
  auto created = TRY(container::create(env, "", std::move(config), build.id));
  {
    std::lock_guard lock(build.mutex);
    build.containers.insert(created.id);
  }
  if (source) {
    TRY(env.storage.destroy(created.dataset, /*recursive=*/true));
    TRY(env.storage.copy(source->dataset + source_snapshot, created.dataset));
  }
  for (const auto& endpoint : build.networks) {
    auto connected = container::networking::connect(env, created.id, endpoint.network,
                                                    endpoint.ip_address, endpoint.ip_address6);
    if (!connected) return std::unexpected(connected.error());
  }
  const auto root = TRY(env.storage.mountpoint(created.dataset));
  return json{{"id", created.id}, {"root", root.string()}};
}

Result<json> op_exec(Build& build, const json& request) {
  TRY(check_live(build));
  auto& env = *build.env;
  const auto c = TRY(own_container(build, request));
  runtime::ProcessSpec process;
  process.argv = strings_field(request, "argv");
  if (process.argv.empty()) return make_error(EINVAL, "exec: argv is empty");
  process.env = strings_field(request, "env");
  process.user = request.value("user", std::string());
  process.workdir = request.value("workdir", std::string("/"));
  if (process.workdir.empty() || process.workdir.front() != '/') process.workdir = "/";
  process.exec_id = generate_id();
  if (!env.runtime.state(c.id)) {
    if (auto started = container::start(env, c); !started && started.error().code != EEXIST)
      return std::unexpected(started.error());
  }
  {
    std::lock_guard lock(build.mutex);
    build.exec_container = c.id;
    build.exec_id = process.exec_id;
  }
  auto execution = TRY(env.runtime.exec(c.id, process, /*attach=*/true));
  // A cancel between the check above and here: the watcher found no exec to stop yet.
  if (build.cancelled.load()) (void)env.runtime.stop_exec(c.id, process.exec_id, true);
  container::Utf8Framer framer;
  std::optional<int> exit_code;
  std::string failure;
  for (;;) {
    auto event = execution->next();
    if (!event) {
      failure = event.error().message;
      break;
    }
    if (event->kind == runtime::ExecEvent::Kind::exit) {
      exit_code = event->exit_code;
      break;
    }
    if (build.quiet) continue;
    auto frame = framer.push(event->data);
    if (!frame.data.empty()) send_text(build, frame.data, frame.binary);
  }
  if (auto rest = framer.flush(); !rest.data.empty() && !build.quiet)
    send_text(build, rest.data, true);
  {
    std::lock_guard lock(build.mutex);
    build.exec_container.clear();
    build.exec_id.clear();
  }
  TRY(check_live(build));
  if (!exit_code) return make_error(EIO, "lost the process of the build step: " + failure);
  return json{{"exit_code", *exit_code}};
}

Result<json> op_snapshot(Build& build, const json& request) {
  TRY(check_live(build));
  const auto c = TRY(own_container(build, request));
  const std::string name = generate_id();
  TRY(build.env->storage.snapshot(c.dataset + "@" + name));
  return json{{"snapshot", "@" + name}};
}

Result<void> stop_if_running(container::Env& env, const container::Container& c) {
  if (!env.runtime.state(c.id)) return {};
  auto stopped = container::stop(env, c.id);
  if (!stopped && stopped.error().code != EBUSY) return std::unexpected(stopped.error());
  return {};
}

Result<json> op_container_remove(Build& build, const json& request) {
  const auto c = TRY(own_container(build, request));
  TRY(stop_if_running(*build.env, c));
  TRY(container::remove(*build.env, c.id));
  std::lock_guard lock(build.mutex);
  build.containers.erase(c.id);
  return json::object();
}

Result<json> op_image_root(Build& build, const json& request) {
  const auto [image, snapshot] = TRY(requested_image(build, request));
  return json{{"root", TRY(build.env->storage.mountpoint(image.dataset)).string()}};
}

// The container's dataset becomes the image's (with the build's snapshots), its row goes.
// A descriptor of kleened's own process (plugins run inside it), named by a request field.
Result<int> fd_field(const json& request, const char* key, mode_t type) {
  auto it = request.find(key);
  if (it == request.end() || !it->is_number_integer() || it->get<int64_t>() < 0 ||
      it->get<int64_t>() > std::numeric_limits<int>::max())
    return make_error(EINVAL, std::string("missing descriptor field '") + key + "'");
  const int fd = it->get<int>();
  struct stat st {};
  if (::fstat(fd, &st) != 0 || (st.st_mode & S_IFMT) != type)
    return make_error(EINVAL, std::string("'") + key + "' is not an open " +
                                  (type == S_IFREG ? "regular file" : "directory"));
  return fd;
}

// ADD of a local archive: unpacked by kleened's extract helper (a confined child), with the
// image rules and no device nodes.
Result<json> op_unpack(Build& build, const json& request) {
  TRY(check_live(build));
  const int archive = TRY(fd_field(request, "archive_fd", S_IFREG));
  const int root = TRY(fd_field(request, "root_fd", S_IFDIR));
  auto stats = image::unpack_added_archive(archive, root);
  if (!stats) {
    Error error = stats.error();
    if (error.code == ENOTSUP) error.code = EIO;  // ENOTSUP means "no such operation" here
    return std::unexpected(error);
  }
  return json{{"entries", stats->entries}, {"bytes", stats->bytes}, {"skipped", stats->skipped}};
}

Result<json> op_commit(Build& build, const json& request) {
  TRY(check_live(build));
  auto& env = *build.env;
  const auto c = TRY(own_container(build, request));
  const auto name = request.value("name", std::string());
  const auto tag = request.value("tag", std::string());
  const json spec = request.value("image", json::object());
  if (!spec.is_object()) return make_error(EINVAL, "commit: image must be an object");

  image::ImageRepository images(env.store);
  const auto parent = TRY(images.get(c.image_id));
  TRY(stop_if_running(env, c));
  image::Image image;
  image.id = build.id;
  image.name = name;
  image.tag = name.empty() ? std::string() : (tag.empty() ? std::string("latest") : tag);
  image.cmd = store::string_list(spec.value("cmd", json::array()));
  image.env = store::string_list(spec.value("env", json::array()));
  image.user = spec.value("user", std::string("root"));
  image.instructions = spec.value("instructions", json::array());
  image.buildargs = spec.value("buildargs", json::object());
  for (const auto* key : {"entrypoint", "workdir", "labels", "exposed_ports"})
    if (auto it = spec.find(key); it != spec.end()) image.config[key] = *it;
  image.dataset = env.storage.layout().image(image.id);
  // The snapshot the dataset is a clone of ("" for a copy).
  image.parent_snapshot = request.value("origin", parent.dataset + std::string(kImageSnapshot));
  image.created = iso8601_now();
  for (const auto& entry : request.value("cache", json::array())) {
    if (entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_string())
      image.cache.emplace_back(entry[0].get<std::string>(), entry[1].get<std::string>());
  }

  TRY(env.storage.rename(c.dataset, image.dataset));
  auto undo_rename = [&] { (void)env.storage.rename(image.dataset, c.dataset); };
  if (auto snap = env.storage.snapshot(image.dataset + std::string(kImageSnapshot)); !snap) {
    undo_rename();
    return std::unexpected(snap.error());
  }
  if (auto inserted = images.insert(image); !inserted) {
    (void)env.storage.destroy(image.dataset + std::string(kImageSnapshot));
    undo_rename();
    return std::unexpected(inserted.error());
  }
  // The row only: its dataset is the image's now (remove skips a dataset that is gone).
  if (auto removed = container::remove(env, c.id); !removed)
    spdlog::warn("build {}: container {} kept its row: {}", build.id, c.id,
                 removed.error().message);
  {
    std::lock_guard lock(build.mutex);
    build.containers.erase(c.id);
  }
  spdlog::info("image {} ({}) built", image.id, image::format_nametag(image));
  return json{{"id", image.id}};
}

using Op = Result<json> (*)(Build&, const json&);
const std::map<std::string, Op, std::less<>>& operations() {
  static const std::map<std::string, Op, std::less<>> ops = {
      {"emit", &op_emit},
      {"image_inspect", &op_image_inspect},
      {"cache_lookup", &op_cache_lookup},
      {"container_create", &op_container_create},
      {"exec", &op_exec},
      {"snapshot", &op_snapshot},
      {"commit", &op_commit},
      {"container_remove", &op_container_remove},
      {"image_root", &op_image_root},
      {"unpack", &op_unpack},
  };
  return ops;
}

Result<json> engine_call(std::string_view op, const json& request) {
  const auto& ops = operations();
  auto it = ops.find(op);
  if (it == ops.end())
    return make_error(ENOTSUP, "unknown engine operation '" + std::string(op) + "'");
  if (!request.is_object()) return make_error(EINVAL, "the request must be a JSON object");
  const auto id = TRY(string_field(request, "build"));
  Build* build = builds().find(id);
  if (build == nullptr) return make_error(ENOENT, "no such build: " + id);
  return it->second(*build, request);
}

// --- the WebSocket ---

plugin::LoadedPlugin* builder_plugin(const ApiContext& context) {
  if (context.plugins == nullptr) return nullptr;
  for (const auto& info : context.plugins->list()) {
    if (info.kind == plugin::Kind::builder)
      return context.plugins->find(info.name, plugin::Kind::builder);
  }
  return nullptr;
}

// Removes what a build left (a plugin that failed half-way, a cancelled build).
void sweep(Build& build) {
  std::set<std::string> left;
  {
    std::lock_guard lock(build.mutex);
    left = build.containers;
  }
  for (const auto& id : left) {
    auto c = container::ContainerRepository(build.env->store).get(id);
    if (!c) continue;
    if (auto stopped = stop_if_running(*build.env, *c); !stopped)
      spdlog::warn("build {}: stopping container {}: {}", build.id, id, stopped.error().message);
    if (auto removed = container::remove(*build.env, id); !removed)
      spdlog::warn("build {}: removing container {}: {}", build.id, id, removed.error().message);
  }
}

void build(ApiContext& context, WsSession& ws) {
  auto raw = ws.receive_config();
  if (!raw) return;  // closed 1002
  BuildRequest request;
  if (auto invalid = parse_build_request(*raw, request)) {
    (void)ws.close_invalid("invalid parameters: " + *invalid);
    return;
  }
  auto bound = container_env(context);
  if (!bound) return close_on_failure(ws, bound.error());
  auto* builder = builder_plugin(context);
  if (builder == nullptr) {
    (void)ws.close_error("no image builder plugin is loaded");
    return;
  }

  // An uploaded context lives in a private directory for as long as the build.
  std::optional<UploadedContext> uploaded;
  if (request.upload) {
    // Next to the metadata store: on disk (a context can be gigabytes; /run is often tmpfs).
    const std::filesystem::path db = context.config != nullptr
                                         ? context.config->metadata_db
                                         : std::filesystem::path("/var/lib/kleene/metadata.sqlite");
    const auto parent = db.parent_path() / "build-contexts";
    auto received = receive_context(ws, parent.string());
    if (!received) {
      (void)ws.close_error("build context upload failed: " + received.error().message);
      return;
    }
    uploaded.emplace(std::move(*received));
    request.plugin_request["context"] = uploaded->path();
  }

  Build build;
  build.id = generate_id();
  build.ws = &ws;
  build.env = &*(*bound)->env;
  build.container_config = std::move(request.container_config);
  build.networks = std::move(request.networks);
  build.quiet = request.quiet;
  request.plugin_request["build"] = build.id;

  builds().add(build);
  if (!ws.send_starting(build.id)) build.cancelled.store(true);
  std::atomic<bool> done{false};
  // The client leaving cancels the build and stops its running step.
  std::thread watcher([&] {
    while (!done.load()) {
      // Short: the build's end waits for this read to time out before it closes the socket.
      auto frame = ws.read(std::chrono::milliseconds(20));
      if (!frame && frame.error().code == ETIMEDOUT) continue;
      if (frame && *frame) continue;  // the client has nothing to say during a build
      if (done.load()) return;
      spdlog::info("build {}: the client went away, cancelling", build.id);
      build.cancelled.store(true);
      std::string container, exec;
      {
        std::lock_guard lock(build.mutex);
        container = build.exec_container;
        exec = build.exec_id;
      }
      if (!exec.empty()) (void)build.env->runtime.stop_exec(container, exec, /*force=*/true);
      return;
    }
  });

  auto outcome = builder->call("build", request.plugin_request);
  done.store(true);
  watcher.join();
  sweep(build);
  builds().remove(build.id);

  if (!outcome) {
    spdlog::warn("build {} failed: {}", build.id, outcome.error().message);
    (void)ws.close_error(outcome.error().message);
    return;
  }
  if (outcome->value("status", std::string()) == "ok") {
    (void)ws.close_ok("image created", outcome->value("id", build.id));
    return;
  }
  (void)ws.close_error(outcome->value("message", std::string("image build failed")),
                       outcome->value("snapshot", std::string()));
}

}  // namespace

void register_image_build_route(Router& router, ApiContext& context) {
  ApiContext* ctx = &context;
  if (context.plugins != nullptr) context.plugins->set_engine(&engine_call);
  router.websocket("/images/build", [ctx](WsSession& ws, const Request&) { build(*ctx, ws); });
}

}  // namespace kleene::api
