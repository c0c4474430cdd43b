// klee volume prune [-f] (POST /volumes/prune): Kleene's confirmation, then the names of the
// removed volumes, one a line.
#include <boost/beast/http/verb.hpp>
#include <boost/program_options/value_semantic.hpp>

#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

int run(const Context& ctx, const po::variables_map& vm) {
  if (!vm["force"].as<bool>() && !confirm(ctx, "WARNING! This will remove all unused volumes."))
    return 1;
  auto names =
      ctx.call_json({.method = boost::beast::http::verb::post, .target = "/volumes/prune"}, {200});
  if (!names) return names.error();
  if (!names->is_array()) {
    return ctx.fail(
        kleene::Error{kProtocolError, "Error! Unexpected response received from Kleened."});
  }
  print_id_list(ctx, *names);
  return 0;
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
