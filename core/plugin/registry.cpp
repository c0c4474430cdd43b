#include "plugin/registry.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "plugin/host_services.hpp"
#include "plugin/loader.hpp"
#include "util/trusted_file.hpp"

namespace kleene::plugin {

nlohmann::json to_json(const PluginInfo& info) {
  return nlohmann::json{
      {"name", info.name},
      {"kind", std::string(to_string(info.kind))},
      {"version", info.version},
      {"abi", fmt::format("{}.{}", info.abi_major, info.abi_minor)},
      {"capabilities", info.capability_names},
      {"path", info.path.string()},
      {"description", info.description},
  };
}

namespace {

constexpr int kProbeTimeoutMs = 10000;

// A plugin runs inside kleened, so one that crashes while it loads (a static constructor, its
// entry point, its create) would take kleened down with it. Each file is therefore loaded first
// in a short-lived child process, and only loaded here once that child exited normally. The
// loader runs before kleened has other threads (and in tools that have none), so the child
// may use it. What the child's checks refuse, the parent refuses again below with the same
// reason; the probe itself only reports crashes, hangs and exits.
std::optional<Error> probe_in_child(
    const std::filesystem::path& path,
    const std::function<nlohmann::json(const std::string&)>& config_for) {
  const pid_t pid = ::fork();
  if (pid < 0) return std::nullopt;  // no probe; load as before
  if (pid == 0) {
    spdlog::set_level(spdlog::level::off);  // the parent logs what matters, once
    const rlimit no_core{0, 0};             // a crash here is expected, not worth a core
    ::setrlimit(RLIMIT_CORE, &no_core);
    // A crash ends the child by its signal, which is what the parent reports: a sanitizer's
    // handler (sanitized builds) would turn it into exit status 1 after its report.
    for (const int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE})
      ::signal(sig, SIG_DFL);
    if (auto opened = detail::open_plugin(path))
      (void)(*opened)->create(config_for((*opened)->info().name));
    ::_exit(0);
  }
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  bool finished = true;
  if (pidfd >= 0) {
    pollfd ready{pidfd, POLLIN, 0};
    int polled;
    while ((polled = ::poll(&ready, 1, kProbeTimeoutMs)) < 0 && errno == EINTR) {
    }
    finished = polled > 0;
    ::close(pidfd);
  }
  if (!finished) ::kill(pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!finished)
    return Error{ETIMEDOUT, fmt::format("did not finish loading within {} s (probe process "
                                        "killed)",
                                        kProbeTimeoutMs / 1000)};
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return Error{EIO, fmt::format("crashed while loading (signal {}, {}); not loaded", sig,
                                  ::strsignal(sig))};
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    return Error{
        EIO, fmt::format("exited with status {} while loading; not loaded", WEXITSTATUS(status))};
  return std::nullopt;
}

}  // namespace

struct Registry::Impl {
  HostOptions options;
  std::shared_ptr<detail::EngineSlot> engine = std::make_shared<detail::EngineSlot>();
  std::vector<std::unique_ptr<detail::PluginInstance>> plugins;
  std::vector<Refusal> refusals;

  detail::PluginInstance* find(std::string_view name) const {
    for (const auto& plugin : plugins) {
      if (plugin->info().name == name) return plugin.get();
    }
    return nullptr;
  }

  Result<void> refuse(const std::filesystem::path& path, const Error& error) {
    spdlog::warn("refused plugin {}: {}", path.string(), error.message);
    refusals.push_back(Refusal{path, error.message});
    return std::unexpected(error.wrap(path.string()));
  }

  nlohmann::json config_for(const std::string& name) const {
    const auto& all = options.plugin_config;
    if (all.is_object()) {
      if (auto it = all.find(name); it != all.end()) return *it;
    }
    return nlohmann::json::object();
  }
};

Registry::Registry(HostOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
}

// Instances are destroyed (and libraries unloaded) in reverse load order.
Registry::~Registry() {
  while (!impl_->plugins.empty())
    impl_->plugins.pop_back();
}

Result<void> Registry::load_file(const std::filesystem::path& path) {
  if (auto refused = util::untrusted_file(path, "not loaded")) return impl_->refuse(path, *refused);
  if (auto crashed =
          probe_in_child(path, [this](const std::string& name) { return impl_->config_for(name); }))
    return impl_->refuse(path, *crashed);
  auto opened = detail::open_plugin(path);
  if (!opened) return impl_->refuse(path, opened.error());
  std::unique_ptr<detail::PluginInstance> plugin = std::move(*opened);
  const PluginInfo& info = plugin->info();

  if (const auto* first = impl_->find(info.name)) {
    return impl_->refuse(
        path, Error{EEXIST, fmt::format("duplicate plugin name \"{}\": already loaded from {}",
                                        info.name, first->info().path.string())});
  }
  plugin->set_command_timeout(impl_->options.command_timeout);
  plugin->set_engine(impl_->engine);
  if (auto created = plugin->create(impl_->config_for(info.name)); !created) {
    return impl_->refuse(path, created.error().wrap("create failed"));
  }
  spdlog::info("loaded {} plugin {} {} (ABI {}.{}) from {}", to_string(info.kind), info.name,
               info.version, info.abi_major, info.abi_minor, path.string());
  impl_->plugins.push_back(std::move(plugin));
  return {};
}

void Registry::load_directories(const std::vector<std::filesystem::path>& dirs) {
  for (const auto& dir : dirs) {
    std::error_code ec;
    std::vector<std::filesystem::path> files;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code type_ec;  // a dangling symlink is skipped, not the whole directory
      if (it->path().extension() == ".so" && it->is_regular_file(type_ec)) {
        files.push_back(it->path());
      }
    }
    if (ec) {
      spdlog::warn("plugin directory {} skipped: {}", dir.string(), ec.message());
      continue;
    }
    std::sort(files.begin(), files.end(),
              [](const auto& a, const auto& b) { return a.filename() < b.filename(); });
    for (const auto& file : files)
      (void)load_file(file);  // refusals are logged and recorded
  }
}

std::vector<PluginInfo> Registry::list() const {
  std::vector<PluginInfo> infos;
  infos.reserve(impl_->plugins.size());
  for (const auto& plugin : impl_->plugins)
    infos.push_back(plugin->info());
  std::sort(infos.begin(), infos.end(), [](const PluginInfo& a, const PluginInfo& b) {
    if (a.kind != b.kind) return to_string(a.kind) < to_string(b.kind);
    return a.name < b.name;
  });
  return infos;
}

const std::vector<Refusal>& Registry::refusals() const {
  return impl_->refusals;
}

LoadedPlugin* Registry::find(std::string_view name) const {
  return impl_->find(name);
}

void Registry::set_engine(EngineHandler handler) {
  impl_->engine->set(std::move(handler));
}

LoadedPlugin* Registry::find(std::string_view name, Kind kind) const {
  auto* plugin = impl_->find(name);
  return plugin != nullptr && plugin->info().kind == kind ? plugin : nullptr;
}

}  // namespace kleene::plugin
