// klee container run (run): create, then start attached (or detached with -d), as Kleene's
// klee does; exits with the process's exit code when attached.
#include "commands/all.hpp"
#include "commands/container_common.hpp"

namespace po = boost::program_options;

namespace klee {

Command container_run_command() {
  return Command{
      .path = {"container", "run"},
      .shortcuts = {"run"},
      .summary = "Run a command in a new container.",
      .description = "The IMAGE syntax is: (IMAGE_ID|IMAGE_NAME[:TAG])[:@SNAPSHOT]",
      .options =
          [](po::options_description& desc) {
            add_container_create_options(desc);
            add_exec_options(desc);
          },
      .positionals = {{.name = "IMAGE"}, {.name = "COMMAND", .max_count = -1, .required = false}},
      .pass_through = true,
      .run =
          [](const Context& ctx, const po::variables_map& vm) {
            auto id = create_container(ctx, vm);
            if (!id) return id.error();
            return start_containers(ctx, exec_flags(vm), {*id});
          },
  };
}

}  // namespace klee
