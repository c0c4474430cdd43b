// klee network prune [-f] (POST /networks/prune): Kleene's confirmation, then the ids of the
// removed networks, one a line.
#include <boost/program_options/value_semantic.hpp>

#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {

Command network_prune_command() {
  return Command{
      .path = {"network", "prune"},
      .summary = "Remove all unused networks, i.e., networks without connected containers.",
      .options =
          [](po::options_description& desc) {
            desc.add_options()("force,f", po::bool_switch(), "Do not prompt for confirmation");
          },
      .run =
          [](const Context& ctx, const po::variables_map& vm) {
            return prune(ctx, vm["force"].as<bool>(),
                         "WARNING! This will remove all unused networks.", "/networks/prune");
          },
  };
}

}  // namespace klee
