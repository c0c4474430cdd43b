// klee image inspect (isi): an image as JSON (GET /images/{id}/inspect).
#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {

Command image_inspect_command() {
  return Command{
      .path = {"image", "inspect"},
      .shortcuts = {"isi"},
      .summary = "Display detailed information on an image.",
      .positionals = {{.name = "IMAGE"}},
      .run =
          [](const Context& ctx, const po::variables_map& vm) {
            return inspect(ctx, "/images/" + url_escape(positional(vm, "IMAGE")) + "/inspect");
          },
  };
}

}  // namespace klee
