// klee image prune [-a] [-f] (POST /images/prune?all=): Kleene's confirmation, then the ids of
// the removed images, one a line.
#include <boost/program_options/value_semantic.hpp>

#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

int run(const Context& ctx, const po::variables_map& vm) {
  const bool all = vm["all"].as<bool>();
  return prune(ctx, vm["force"].as<bool>(), "WARNING! This will remove all unused images.",
               std::string("/images/prune?all=") + (all ? "true" : "false"));
}

}  // namespace

Command image_prune_command() {
  return Command{
      .path = {"image", "prune"},
      .summary = "Remove images that are not being used by containers.",
      .description =
          "Without --all only untagged images go; images that other images are built "
          "on stay until those are gone (prune repeats until nothing changes).",
      .options =
          [](po::options_description& desc) {
            desc.add_options()("all,a", po::bool_switch(), "Remove tagged images as well.")(
                "force,f", po::bool_switch(), "Do not prompt for confirmation");
          },
      .run = run,
  };
}

}  // namespace klee
