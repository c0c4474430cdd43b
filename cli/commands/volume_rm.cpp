// klee volume rm (rmv): remove volumes one by one (DELETE /volumes/{name}), stopping at a
// failure. A volume mounted in a container is not removed.
#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {

Command volume_rm_command() {
  return Command{
      .path = {"volume", "rm"},
      .shortcuts = {"rmv"},
      .summary =
          "Remove one or more volumes. You cannot remove a volume that is in use by a "
          "container.",
      .positionals = {{.name = "VOLUMES", .max_count = -1}},
      .run =
          [](const Context& ctx, const po::variables_map& vm) {
            return remove_each(ctx, "/volumes/", positionals(vm, "VOLUMES"));
          },
  };
}

}  // namespace klee
