// klee container rm (rmc): DELETE /containers/{id} for each container, printing its id; with
// -f a running container is stopped first. The first failure ends the command.
#include <boost/program_options/value_semantic.hpp>

#include "commands/all.hpp"
#include "commands/container_common.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

int run(const Context& ctx, const po::variables_map& vm) {
  const bool force = vm["force"].as<bool>();
  for (const auto& id : positionals(vm, "CONTAINERS")) {
    if (force) {
      // A container that is not running answers with an error: nothing to stop, go on.
      (void)ctx.client.request({.method = boost::beast::http::verb::post,
                                .target = "/containers/" + url_escape(id) + "/stop"});
    }
    if (int rc = remove_each(ctx, "/containers/", {id}); rc != 0) return rc;
  }
  return 0;
}

}  // namespace

Command container_rm_command() {
  return Command{
      .path = {"container", "rm"},
      .shortcuts = {"rmc"},
      .summary = "Remove one or more containers",
      .options =
          [](po::options_description& desc) {
            desc.add_options()("force,f", po::bool_switch(),
                               "Stop containers before removing them.");
          },
      .positionals = {{.name = "CONTAINERS", .max_count = -1}},
      .run = run,
  };
}

}  // namespace klee
