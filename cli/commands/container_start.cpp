// klee container start (start): an execution of each container's command that starts the
// container; attached to its I/O unless -d (then several containers may be given).
#include <boost/program_options/value_semantic.hpp>

#include "commands/all.hpp"
#include "commands/container_common.hpp"

namespace po = boost::program_options;

namespace klee {

Command container_start_command() {
  return Command{
      .path = {"container", "start"},
      .shortcuts = {"start"},
      .summary = "Start one or more stopped containers.",
      .description = "Attach only if a single container is started",
      .options =
          [](po::options_description& desc) {
            add_exec_options(desc);
            desc.add_options()("attach,a", po::bool_switch(),
                               "Attach to STDOUT/STDERR (the default unless --detach is set)");
          },
      .positionals = {{.name = "CONTAINERS", .max_count = -1}},
      .run =
          [](const Context& ctx, const po::variables_map& vm) {
            auto flags = exec_flags(vm);
            if (vm["attach"].as<bool>()) flags.detach = false;
            return start_containers(ctx, flags, positionals(vm, "CONTAINERS"));
          },
  };
}

}  // namespace klee
