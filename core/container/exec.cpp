#include "container/exec.hpp"

#include <spdlog/spdlog.h>

#include "util/ids.hpp"
#include "util/strings.hpp"

namespace kleene::container {

namespace {

std::unexpected<ConfigError> invalid(std::string pointer, std::string message) {
  return std::unexpected(ConfigError{std::move(pointer), std::move(message)});
}

}  // namespace

std::string no_such_exec(std::string_view id) {
  return "could not find a execution instance matching '" + std::string(id) + "'";
}

std::expected<ExecConfig, ConfigError> parse_exec_config(const nlohmann::json& body) {
  if (!body.is_object()) return invalid("/", "Invalid object");
  ExecConfig config;
  auto text = [&](std::string_view key, std::string& out) -> std::optional<ConfigError> {
    const auto it = body.find(key);
    if (it == body.end() || it->is_null()) return std::nullopt;
    if (!it->is_string())
      return ConfigError{"/" + std::string(key),
                         std::string("Invalid string. Got: ") + it->type_name()};
    out = it->get<std::string>();
    return std::nullopt;
  };
  auto list = [&](std::string_view key,
                  std::vector<std::string>& out) -> std::optional<ConfigError> {
    const auto it = body.find(key);
    if (it == body.end() || it->is_null()) return std::nullopt;
    if (!it->is_array())
      return ConfigError{"/" + std::string(key),
                         std::string("Invalid array. Got: ") + it->type_name()};
    for (const auto& item : *it) {
      if (!item.is_string())
        return ConfigError{"/" + std::string(key),
                           std::string("Invalid string. Got: ") + item.type_name()};
      out.push_back(item.get<std::string>());
    }
    return std::nullopt;
  };
  if (!body.contains("container_id"))
    return invalid("/container_id", "Missing field: container_id");
  if (auto e = text("container_id", config.container_id)) return std::unexpected(*e);
  if (auto e = text("user", config.user)) return std::unexpected(*e);
  if (auto e = list("cmd", config.cmd)) return std::unexpected(*e);
  if (auto e = list("env", config.env)) return std::unexpected(*e);
  if (const auto it = body.find("tty"); it != body.end() && !it->is_null()) {
    if (!it->is_boolean()) return invalid("/tty", "Invalid boolean");
    config.tty = it->get<bool>();
  }
  return config;
}

Result<std::string> ExecRegistry::create(Env& env, ExecConfig config) {
  auto container = ContainerRepository(env.store).resolve(config.container_id);
  if (!container) {
    if (container.error().code == ENOENT) return make_error(ENOENT, "container not found");
    return std::unexpected(container.error());
  }
  ExecInstance instance;
  instance.id = generate_id();
  instance.container_id = container->id;
  config.container_id = container->id;
  instance.config = std::move(config);
  std::lock_guard lock(mutex_);
  instances_[instance.id] = instance;
  spdlog::debug("execution instance {} created in container {}", instance.id,
                instance.container_id);
  return instance.id;
}

std::optional<ExecInstance> ExecRegistry::get(const std::string& id) {
  std::lock_guard lock(mutex_);
  const auto it = instances_.find(id);
  if (it == instances_.end()) return std::nullopt;
  return it->second;
}

Result<ExecInstance> ExecRegistry::claim(const std::string& id) {
  std::lock_guard lock(mutex_);
  const auto it = instances_.find(id);
  if (it == instances_.end()) return make_error(ENOENT, no_such_exec(id));
  if (it->second.state != ExecInstance::State::created)
    return make_error(EALREADY, "executable already started");
  it->second.state = ExecInstance::State::running;
  return it->second;
}

void ExecRegistry::release(const std::string& id) {
  std::lock_guard lock(mutex_);
  if (const auto it = instances_.find(id); it != instances_.end())
    it->second.state = ExecInstance::State::created;
}

void ExecRegistry::forget(const std::string& id) {
  std::lock_guard lock(mutex_);
  instances_.erase(id);
}

void ExecRegistry::forget_container(const std::string& container_id) {
  std::lock_guard lock(mutex_);
  std::erase_if(instances_,
                [&](const auto& entry) { return entry.second.container_id == container_id; });
}

ExecRegistry& executions() {
  static ExecRegistry registry;
  return registry;
}

Result<runtime::ProcessSpec> process_for(Env& env, const ExecInstance& instance,
                                         const Container& container) {
  const auto image = TRY(image_of(env, container));
  auto params = parse_params(container.jail_param);
  const std::string jail_user = params ? params->jail_user : std::string();
  runtime::ProcessSpec process;
  process.exec_id = instance.id;
  process.argv = effective_cmd(instance.config.cmd, container.cmd, image.cmd);
  if (process.argv.empty()) return make_error(EINVAL, "no command to execute");
  // The container's env already holds the image's (merged at create, as Kleene does).
  process.env = merge_env(merge_env(image.env, container.env), instance.config.env);
  process.user = effective_user(instance.config.user, container.user, jail_user, image.user);
  process.tty = instance.config.tty;
  // A built image's WORKDIR (core/image/image.hpp, config).
  if (auto it = image.config.find("workdir");
      it != image.config.end() && it->is_string() && !it->get<std::string>().empty())
    process.workdir = it->get<std::string>();
  return process;
}

}  // namespace kleene::container
