// klee container inspect (isc): a container, its endpoints and mounts as JSON.
#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {

Command container_inspect_command() {
  return Command{
      .path = {"container", "inspect"},
      .shortcuts = {"isc"},
      .summary = "Display detailed information on a container.",
      .positionals = {{.name = "CONTAINER"}},
      .run =
          [](const Context& ctx, const po::variables_map& vm) {
            return inspect(ctx,
                           "/containers/" + url_escape(positional(vm, "CONTAINER")) + "/inspect");
          },
  };
}

}  // namespace klee
