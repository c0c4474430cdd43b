// klee volume inspect (isv): a volume and its mount points as JSON (GET /volumes/{name}/inspect).
#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {

Command volume_inspect_command() {
  return Command{
      .path = {"volume", "inspect"},
      .shortcuts = {"isv"},
      .summary = "Display detailed information on a volume.",
      .positionals = {{.name = "VOLUME"}},
      .run =
          [](const Context& ctx, const po::variables_map& vm) {
            return inspect(ctx, "/volumes/" + url_escape(positional(vm, "VOLUME")) + "/inspect");
          },
  };
}

}  // namespace klee
