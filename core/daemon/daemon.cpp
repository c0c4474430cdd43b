#include "daemon/daemon.hpp"

#include <malloc.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <thread>

#include <spdlog/spdlog.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "api/context.hpp"
#include "api/logging.hpp"
#include "api/router.hpp"
#include "api/server.hpp"
#include "container/startup.hpp"
#include "daemon/pidfile.hpp"
#include "plugin/registry.hpp"
#include "runtime/runtime.hpp"
#include "storage/storage.hpp"
#include "store/store.hpp"

namespace kleene::daemon {

struct Daemon::State {
  config::DaemonConfig config;
  boost::asio::io_context signal_context;
  std::optional<boost::asio::signal_set> signals;
  Pidfile pidfile;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<plugin::Registry> plugins;
  std::unique_ptr<storage::Storage> storage;  // set once by storage_opener
  std::unique_ptr<runtime::Runtime> runtime;
  api::StorageSlot storage_slot;
  api::ApiContext context;
  api::Router router;
  // Opens storage after the listeners are up; joined before storage goes.
  std::jthread storage_opener;
  std::unique_ptr<api::Server> server;  // last: stopped before what its handlers use
};

namespace {

Result<void> make_private_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ec.value(), "run_dir " + dir.string() + ": " + ec.message());
  if (::chmod(dir.c_str(), 0700) != 0) return errno_error("run_dir " + dir.string());
  return {};
}

// Make storage usable (start the service, import the pool, create missing datasets) without
// creating a pool: that is `kleened init`'s job. Runs after kleened listens; a daemon whose
// storage is not ready still serves, and image and volume endpoints report the reason.
// Once storage is ready, containers are re-adopted and those with restart policy on-startup
// started, before the slot reports ready.
void open_storage(plugin::Registry& plugins, const config::DaemonConfig& config,
                  std::unique_ptr<storage::Storage>& out, api::StorageSlot& slot,
                  api::ApiContext& context) {
  auto storage = storage::Storage::open(plugins, config);
  if (!storage) {
    spdlog::warn("storage is not ready: {}; run 'kleened init'", storage.error().message);
    slot.set_failed(storage.error().message);
    return;
  }
  auto steps = (*storage)->init({});
  if (!steps) {
    spdlog::warn("storage is not ready: {}; run 'kleened init'", steps.error().message);
    slot.set_failed(steps.error().message);
    return;
  }
  for (const auto& step : *steps) {
    if (step.value("change", false)) spdlog::info("storage: {}", step.value("action", ""));
  }
  spdlog::info("storage ready: {} on {}", config.kleene_root, config.storage_driver);
  out = std::move(*storage);
  container::on_storage_ready(context, *out);
  slot.set_ready(out.get());
}

}  // namespace

Daemon::Daemon(std::unique_ptr<State> state) : state_(std::move(state)) {}

Daemon::~Daemon() {
  stop();
}

Result<std::unique_ptr<Daemon>> Daemon::start(config::DaemonConfig config, DaemonOptions options) {
  auto state = std::make_unique<State>();
  state->config = std::move(config);
  const auto& cfg = state->config;
  TRY(api::setup_logging(cfg, options.log_to_stderr));
  spdlog::info("kleened starting (pid {}), config {}", ::getpid(),
               cfg.source.empty() ? std::string("(defaults)") : cfg.source.string());
  for (const auto& key : cfg.ignored_keys)
    spdlog::info("config key '{}' has no meaning on Linux and is ignored", key);
  // Catch signals before anything listens, so an early SIGTERM is a clean stop.
  if (options.handle_signals) state->signals.emplace(state->signal_context, SIGTERM, SIGINT);

  TRY(make_private_dir(cfg.run_dir));
  // Uploaded build contexts a previous kleened left when it died mid-build (core/api/
  // build_context.hpp): nothing uses them any more. remove_all never follows symlinks.
  {
    std::error_code ec;
    const auto uploads = cfg.metadata_db.parent_path() / "build-contexts";
    if (std::filesystem::exists(uploads, ec)) {
      for (std::filesystem::directory_iterator it(uploads, ec), end; !ec && it != end;
           it.increment(ec))
        std::filesystem::remove_all(it->path(), ec);
      if (ec) spdlog::warn("cannot clean {}: {}", uploads.string(), ec.message());
    }
  }
  state->pidfile = TRY(Pidfile::acquire(cfg.pidfile));
  auto store = store::Store::open(cfg.metadata_db);
  if (!store) return std::unexpected(store.error().wrap("metadata_db " + cfg.metadata_db.string()));
  state->store = std::move(*store);

  state->plugins = std::make_unique<plugin::Registry>(plugin::HostOptions{
      .plugin_config = cfg.plugins, .command_timeout = cfg.plugin_command_timeout});
  state->plugins->load_directories(cfg.plugin_dirs);
  for (const auto& info : state->plugins->list())
    spdlog::info("plugin {} ({} {}) from {}", info.name, plugin::to_string(info.kind), info.version,
                 info.path.string());

  state->runtime = std::make_unique<runtime::Runtime>(
      runtime::RuntimeOptions{.keeper_path = cfg.keeper_path, .run_dir = cfg.run_dir});

  state->context = api::ApiContext{};
  state->context.config = &state->config;
  state->context.plugins = state->plugins.get();
  state->context.store = state->store.get();
  state->context.storage = &state->storage_slot;
  state->context.runtime = state->runtime.get();
  api::register_routes(state->router, state->context);

  api::ServerOptions server_options;
  server_options.sockets = cfg.api_listening_sockets;
  server_options.max_request_body = cfg.max_request_body;
  state->server = std::make_unique<api::Server>(state->router, std::move(server_options));
  TRY(state->server->start());
  State* raw = state.get();
  state->storage_opener = std::jthread([raw] {
    open_storage(*raw->plugins, raw->config, raw->storage, raw->storage_slot, raw->context);
    // Start-up is over (config, plugins, storage, re-adopted containers): give back what it
    // freed. After requests the server does the same once it is idle (ServerOptions).
    ::malloc_trim(0);
  });
  spdlog::info("kleened ready");
  return std::unique_ptr<Daemon>(new Daemon(std::move(state)));
}

std::vector<std::string> Daemon::listening() const {
  return state_->server->listening();
}

std::string Daemon::storage_error() const {
  return state_->storage_slot.error();
}

std::string Daemon::wait_for_storage() {
  std::string error = state_->storage_slot.wait();
  // Joined here rather than at shutdown: a fork of kleened (the keeper's double fork) would
  // otherwise carry a finished, unjoined thread, which TSan reports when that child exits.
  if (state_->storage_opener.joinable()) state_->storage_opener.join();
  return error;
}

void Daemon::wait_for_signal() {
  if (!state_->signals) return;
  state_->signals->async_wait([](const boost::system::error_code& ec, int signal) {
    if (!ec) spdlog::info("received signal {}, shutting down", signal);
  });
  state_->signal_context.run();
}

void Daemon::stop() {
  if (!state_ || !state_->server) return;
  state_->server->stop();
  state_->server.reset();
  state_->pidfile.release();
  if (state_->signals) {
    // Destroying the signal set gives SIGTERM and SIGINT back their default action, and a
    // second signal (a service manager's SIGTERM after the SIGINT that stopped us) would then
    // kill a daemon that has already stopped cleanly, as 143 instead of 0. From here on they
    // do nothing; a handler rather than SIG_IGN, so nothing kleened still runs inherits it.
    state_->signals.reset();
    struct sigaction ignore {};
    ignore.sa_handler = [](int) {};
    ::sigemptyset(&ignore.sa_mask);
    ignore.sa_flags = SA_RESTART;
    for (int signal : {SIGTERM, SIGINT})
      ::sigaction(signal, &ignore, nullptr);
  }
  spdlog::info("kleened stopped");
}

}  // namespace kleene::daemon
