// /exec/*: Kleene's execution instances. create and stop are HTTP; start is the WebSocket
// /exec/start (frame format: docs/api.md, "exec/start"):
//   config ExecStartConfig -> 1002 when invalid; errors before the process runs -> 1011;
//   attach=false -> Close 1001 once started; attach=true -> `starting`, raw output frames
//   (text when UTF-8, else binary), then Close 1000 "executable <id> and its container exited
//   with exit-code N" or "<id> has exited with exit-code N" (data: "", as Kleene).
//   Client frames after `starting`: text = stdin; binary = kind byte + payload (0x00 stdin,
//   0x01 {"rows","cols"} resize, 0x02 end of stdin). The client leaving stops the process.
#include <atomic>
#include <cstdint>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>

#include "api/container_env.hpp"
#include "api/context.hpp"
#include "api/stubs.hpp"
#include "api/ws_configs.hpp"
#include "container/exec.hpp"
#include "container/service.hpp"
#include "container/utf8.hpp"
#include "util/json_body.hpp"

namespace kleene::api {

namespace {

using container::executions;

constexpr std::string_view kDetached = "succesfully started execution instance in detached mode";
constexpr std::string_view kNotStarting = "cannot start container when 'start_container' is false.";

Response create(ApiContext& context, const Request& request) {
  auto config = container::parse_exec_config(request.body);
  if (!config) return config_failure(config.error());
  auto env = container_env(context);
  if (!env) return env.error();
  auto id = executions().create(*(*env)->env, std::move(*config));
  if (!id) return container_failure(id.error());
  return Response::json(201, nlohmann::json{{"id", *id}});
}

Response stop(ApiContext& context, const Request& request) {
  const std::string id = request.param("exec_id").value_or("");
  auto instance = executions().get(id);
  if (!instance) return Response::message(404, container::no_such_exec(id));
  auto env = container_env(context);
  if (!env) return env.error();
  if (instance->state == container::ExecInstance::State::created) {
    executions().forget(id);  // Kleene: not running, removed anyway
    return Response::json(200, nlohmann::json{{"id", id}});
  }
  if (request.query_flag("stop_container")) {
    auto stopped = container::stop(*(*env)->env, instance->container_id);
    if (!stopped) return container_failure(stopped.error());
    executions().forget_container(instance->container_id);
    return Response::json(200, nlohmann::json{{"id", id}});
  }
  auto signalled =
      (*env)->env->runtime.stop_exec(instance->container_id, id, request.query_flag("force_stop"));
  if (!signalled) {
    if (signalled.error().code != ENOENT) return container_failure(signalled.error());
    executions().forget(id);  // it ended already
  }
  return Response::json(200, nlohmann::json{{"id", id}});
}

// A client frame while the process runs.
void handle_input(runtime::Execution& execution, const WsFrame& frame) {
  if (!frame.binary) {
    (void)execution.write_stdin(frame.data);
    return;
  }
  if (frame.data.empty()) return;
  const std::string_view payload = std::string_view(frame.data).substr(1);
  switch (frame.data.front()) {
    case '\x00':
      (void)execution.write_stdin(payload);
      break;
    case '\x01':
      if (const auto size = parse_resize(payload))
        (void)execution.resize(size->first, size->second);
      break;
    case '\x02':
      (void)execution.close_stdin();
      break;
    default:
      break;  // unknown kinds are ignored
  }
}

std::string exit_message(const std::string& exec_id, const runtime::ExecEvent& exit) {
  if (exit.container_ended)
    return "executable " + exec_id + " and its container exited with exit-code " +
           std::to_string(exit.exit_code);
  return exec_id + " has exited with exit-code " + std::to_string(exit.exit_code);
}

// Stream an attached execution to the client until its exit; stdin from a second thread.
void stream(WsSession& ws, container::Env& env, const container::Container& c,
            const std::string& exec_id, runtime::Execution& execution, pid_t init_pid) {
  std::atomic<bool> done{false};
  std::thread input([&] {
    while (!done.load()) {
      auto frame = ws.read(std::chrono::milliseconds(200));
      if (!frame && frame.error().code == ETIMEDOUT) continue;
      if (!frame || !*frame) {
        // The client left while the process runs: stop it, as Kleene does.
        if (!done.load()) (void)env.runtime.stop_exec(c.id, exec_id, /*force=*/false);
        return;
      }
      handle_input(execution, **frame);
    }
  });
  container::Utf8Framer framer;
  std::optional<runtime::ExecEvent> exit;
  std::string failure;
  for (;;) {
    auto event = execution.next();
    if (!event) {
      failure = event.error().message;
      break;
    }
    if (event->kind == runtime::ExecEvent::Kind::exit) {
      exit = std::move(*event);
      break;
    }
    auto frame = framer.push(event->data);
    if (!frame.data.empty()) (void)ws.send_output(frame.data, frame.binary);
  }
  if (auto rest = framer.flush(); !rest.data.empty()) (void)ws.send_output(rest.data, true);
  done.store(true);
  if (exit) {
    // exec.poststop first, so a client that sees the close sees its effects too.
    if (exit->container_ended) {
      container::settle_ended(env, c, init_pid);
      executions().forget_container(c.id);
    }
    // data stays "" as in Kleene: its klee prints a non-empty data on a line of its own. The
    // exit code is in the message.
    (void)ws.close_ok(exit_message(exec_id, *exit));
  } else {
    (void)ws.close_error("lost the execution: " + failure);
  }
  input.join();
  executions().forget(exec_id);
}

void start(ApiContext& context, WsSession& ws) {
  auto raw = ws.receive_config();
  if (!raw) return;  // closed 1002
  ExecStartConfig config;
  if (auto invalid = parse_exec_start(*raw, config)) {
    (void)ws.close_invalid("invalid parameters: " + *invalid);
    return;
  }
  auto bound = container_env(context);
  if (!bound) return close_on_failure(ws, bound.error());
  container::Env& env = *(*bound)->env;
  auto instance = executions().claim(config.exec_id);
  if (!instance) {
    (void)ws.close_error(instance.error().message);
    return;
  }
  const std::string& exec_id = instance->id;
  auto fail = [&](std::string_view message) {
    executions().release(exec_id);
    (void)ws.close_error(message);
  };
  auto c = container::ContainerRepository(env.store).get(instance->container_id);
  if (!c) {
    executions().forget(exec_id);
    (void)ws.close_error("container not found");
    return;
  }
  // A running container: one keeper round trip, the exec (its answer names the init, whose end
  // settle_ended() may wait for). A stopped one is started first when the client asks for it.
  const auto process = container::process_for(env, *instance, *c);
  const auto run = [&]() -> Result<std::unique_ptr<runtime::Execution>> {
    if (!process) return std::unexpected(process.error());
    return env.runtime.exec(c->id, *process, config.attach);
  };
  auto execution = run();
  if (!execution && !env.runtime.state(c->id)) {
    if (!config.start_container) return fail(kNotStarting);
    if (auto started = container::start(env, *c); !started && started.error().code != EEXIST)
      return fail(started.error().message);
    execution = run();
  }
  if (!execution) return fail(execution.error().message);
  spdlog::debug("execution instance {} started in container {}", exec_id, c->id);
  if (!config.attach || !*execution) {
    (void)ws.close_detached(kDetached);
    return;
  }
  pid_t init_pid = (*execution)->init_pid();
  if (init_pid == 0) {  // a keeper from before the exec's answer named it
    if (auto state = env.runtime.state(c->id)) init_pid = state->init_pid;
  }
  if (!ws.send_starting()) {
    (void)env.runtime.stop_exec(c->id, exec_id, false);
  }
  stream(ws, env, *c, exec_id, **execution, init_pid);
}

}  // namespace

void register_exec_routes(Router& router, ApiContext& context) {
  ApiContext* ctx = &context;
  router.post(
      "/exec/create", [ctx](const Request& r) { return create(*ctx, r); }, kJsonBody);
  router.websocket("/exec/start", [ctx](WsSession& ws, const Request&) { start(*ctx, ws); });
  router.post("/exec/{exec_id}/stop", [ctx](const Request& r) { return stop(*ctx, r); });
}

}  // namespace kleene::api
