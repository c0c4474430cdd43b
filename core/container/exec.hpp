// Execution instances (Kleene's exec): created by POST /exec/create, started once by the
// WebSocket /exec/start, stopped by POST /exec/{id}/stop. Kept in kleened's memory only, as
// Kleene does: an instance that has run to its end is forgotten.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "container/service.hpp"
#include "runtime/spec.hpp"
#include "util/error.hpp"

namespace kleene::container {

struct ExecConfig {  // Kleene's ExecConfig
  std::string container_id;
  std::vector<std::string> cmd;
  std::vector<std::string> env;
  std::string user;
  bool tty = false;
};

// Types of the fields; ConfigError as for containers.
std::expected<ExecConfig, ConfigError> parse_exec_config(const nlohmann::json& body);

struct ExecInstance {
  enum class State { created, running };
  std::string id;
  std::string container_id;  // resolved full id
  ExecConfig config;
  State state = State::created;
};

class ExecRegistry {
 public:
  // ENOENT "container not found" (Kleene) for an unknown container.
  Result<std::string> create(Env& env, ExecConfig config);
  std::optional<ExecInstance> get(const std::string& id);
  // created -> running; ENOENT unknown, EALREADY "executable already started".
  Result<ExecInstance> claim(const std::string& id);
  // running -> created again (a start that failed before anything ran).
  void release(const std::string& id);
  void forget(const std::string& id);
  // Every instance of a container (when it is removed or has stopped).
  void forget_container(const std::string& container_id);

 private:
  std::mutex mutex_;
  std::map<std::string, ExecInstance, std::less<>> instances_;
};

// kleened's one registry.
ExecRegistry& executions();

// Kleene's message for an exec id it does not know.
std::string no_such_exec(std::string_view id);

// The process of an instance: cmd exec > container > image; env image < container < exec;
// user exec > container > exec.jail_user > image.
Result<runtime::ProcessSpec> process_for(Env& env, const ExecInstance& instance,
                                         const Container& container);

}  // namespace kleene::container
