// klee container prune [-f] (POST /containers/prune): Kleene's confirmation, then the ids of
// the removed containers, one a line. Running and `persist` containers stay.
#include <boost/program_options/value_semantic.hpp>

#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

int run(const Context& ctx, const po::variables_map& vm) {
  return prune(ctx, vm["force"].as<bool>(), "WARNING! This will remove all stopped containers.",
               "/containers/prune");
}

}  // namespace

Command container_prune_command() {
  return Command{
      .path = {"container", "prune"},
      .summary = "Remove all stopped containers.",
      .description = "Containers created with --persist are kept.",
      .options =
          [](po::options_description& desc) {
            desc.add_options()("force,f", po::bool_switch(), "Do not prompt for confirmation");
          },
      .run = run,
  };
}

}  // namespace klee
