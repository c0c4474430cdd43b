// klee container restart (restart): stop, then start detached, one container after another
// (Kleene's order; the first failure ends the command).
#include "commands/all.hpp"
#include "commands/container_common.hpp"
#include "commands/exec_attach.hpp"

namespace po = boost::program_options;

namespace klee {

Command container_restart_command() {
  return Command{
      .path = {"container", "restart"},
      .shortcuts = {"restart"},
      .summary = "Restart one or more containers",
      .positionals = {{.name = "CONTAINERS", .max_count = -1}},
      .run =
          [](const Context& ctx, const po::variables_map& vm) {
            for (const auto& id : positionals(vm, "CONTAINERS")) {
              if (int rc = stop_containers(ctx, {id}); rc != 0) return rc;
              if (int rc = run_execution(ctx, {.container = id, .detach = true}); rc != 0)
                return rc;
            }
            return 0;
          },
  };
}

}  // namespace klee
