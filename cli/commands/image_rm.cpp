// klee image rm (rmi): remove images one by one (DELETE /images/{id}), stopping at a failure.
#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {

Command image_rm_command() {
  return Command{
      .path = {"image", "rm"},
      .shortcuts = {"rmi"},
      .summary = "Remove one or more images",
      .description = "An image is not removed while a container or another image depends on it.",
      .positionals = {{.name = "IMAGES", .max_count = -1}},
      .run =
          [](const Context& ctx, const po::variables_map& vm) {
            return remove_each(ctx, "/images/", positionals(vm, "IMAGES"));
          },
  };
}

}  // namespace klee
