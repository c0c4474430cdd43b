// klee container stop (stop): POST /containers/{id}/stop for each container, printing its id.
#include "commands/all.hpp"
#include "commands/container_common.hpp"

namespace po = boost::program_options;

namespace klee {

Command container_stop_command() {
  return Command{
      .path = {"container", "stop"},
      .shortcuts = {"stop"},
      .summary = "Stop one or more running containers",
      .description =
          "Everything in the container gets SIGTERM, and SIGKILL after kleened's stop_timeout.",
      .positionals = {{.name = "CONTAINERS", .max_count = -1}},
      .run =
          [](const Context& ctx, const po::variables_map& vm) {
            return stop_containers(ctx, positionals(vm, "CONTAINERS"));
          },
  };
}

}  // namespace klee
