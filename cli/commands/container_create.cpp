// klee container create (create): POST /containers/create with Kleene's ContainerConfig, then
// the connection to `--network`; prints the container id.
#include "commands/all.hpp"
#include "commands/container_common.hpp"

namespace po = boost::program_options;

namespace klee {

Command container_create_command() {
  return Command{
      .path = {"container", "create"},
      .shortcuts = {"create"},
      .summary = "Create a new container.",
      .description =
          "The IMAGE parameter syntax is: IMAGE_ID|[IMAGE_NAME[:TAG]][@SNAPSHOT_ID]\n\n"
          "See the documentation for details.",
      .options = add_container_create_options,
      .positionals = {{.name = "IMAGE"}, {.name = "COMMAND", .max_count = -1, .required = false}},
      .pass_through = true,
      .run =
          [](const Context& ctx, const po::variables_map& vm) {
            auto id = create_container(ctx, vm);
            return id ? 0 : id.error();
          },
  };
}

}  // namespace klee
