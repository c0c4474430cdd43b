// klee network inspect: a network and its endpoints as JSON (GET /networks/{id}/inspect).
#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {

Command network_inspect_command() {
  return Command{
      .path = {"network", "inspect"},
      .summary = "Display detailed information on a network.",
      .positionals = {{.name = "NETWORK"}},
      .run =
          [](const Context& ctx, const po::variables_map& vm) {
            return inspect(ctx, "/networks/" + url_escape(positional(vm, "NETWORK")) + "/inspect");
          },
  };
}

}  // namespace klee
