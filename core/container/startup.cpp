#include "container/startup.hpp"

#include <spdlog/spdlog.h>

#include <set>
#include <string>

#include "container/bind.hpp"
#include "container/exec.hpp"
#include "container/networking.hpp"
#include "container/reconcile.hpp"

namespace kleene::container {

namespace {

Result<void> run_detached(Env& env, const Container& c, const std::string& exec_id) {
  const auto instance = TRY(executions().claim(exec_id));
  const auto process = TRY(process_for(env, instance, c));
  TRY(env.runtime.exec(c.id, process, /*attach=*/false));
  return {};
}

}  // namespace

void on_storage_ready(api::ApiContext& context, storage::Storage& storage) {
  auto bound = bind(context, &storage);
  if (!bound) {
    spdlog::warn("containers: {}", bound.error().message);
    return;
  }
  Env& env = *(*bound)->env;
  std::set<std::string> running;
  for (const auto& state : env.runtime.adopt()) {
    spdlog::info("container {} is running (init pid {}, keeper pid {}): re-adopted", state.id,
                 state.init_pid, state.keeper_pid);
    running.insert(state.id);
  }
  {
    std::lock_guard lock(lifecycle_mutex());
    // What a kleened killed half-way through an operation left: datasets without rows, rows
    // without datasets (container/reconcile.hpp).
    (void)reconcile_storage(env, running);
    // Running containers keep their interfaces; links of containers that ended meanwhile go,
    // missing bridges are made again and the firewall is loaded from the store.
    networking::reconcile(env);
  }
  auto containers = ContainerRepository(env.store).list();
  if (!containers) {
    spdlog::warn("containers: cannot list containers: {}", containers.error().message);
    return;
  }
  for (const auto& c : *containers) {
    if (c.restart_policy != "on-startup" || env.runtime.state(c.id)) continue;
    if (auto started = start(env, c); !started) {
      spdlog::warn("container {} (restart policy on-startup) did not start: {}", c.id,
                   started.error().message);
      continue;
    }
    auto exec_id = executions().create(env, ExecConfig{.container_id = c.id});
    if (!exec_id) continue;
    auto ran = run_detached(env, c, *exec_id);
    if (!ran) {
      spdlog::warn("container {}: its command did not start: {}", c.id, ran.error().message);
      executions().forget(*exec_id);
      continue;
    }
    spdlog::info("container {} started (restart policy on-startup)", c.id);
  }
}

}  // namespace kleene::container
