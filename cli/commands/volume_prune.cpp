// klee volume prune [-f] (POST /volumes/prune): Kleene's confirmation, then the names of the
// removed volumes, one a line.
#include <boost/program_options/value_semantic.hpp>

#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

int run(const Context& ctx, const po::variables_map& vm) {
  return prune(ctx, vm["force"].as<bool>(), "WARNING! This will remove all unused volumes.",
               "/volumes/prune");
}

}  // namespace

Command volume_prune_command() {
  return Command{
      .path = {"volume", "prune"},
      .summary = "Remove all volumes that are not being mounted into any containers.",
      .options =
          [](po::options_description& desc) {
            desc.add_options()("force,f", po::bool_switch(), "Do not prompt for confirmation");
          },
      .run = run,
  };
}

}  // namespace klee
