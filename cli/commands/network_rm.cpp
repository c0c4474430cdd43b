// klee network rm: remove networks one by one (DELETE /networks/{id}), stopping at a failure.
// kleened disconnects the containers of a removed network.
#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {

Command network_rm_command() {
  return Command{
      .path = {"network", "rm"},
      .summary = "Remove one or more networks. Any connected containers will be disconnected.",
      .positionals = {{.name = "NETWORKS", .max_count = -1}},
      .run =
          [](const Context& ctx, const po::variables_map& vm) {
            return remove_each(ctx, "/networks/", positionals(vm, "NETWORKS"));
          },
  };
}

}  // namespace klee
