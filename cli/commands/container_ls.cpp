// klee container ls (list, lsc): the containers (GET /containers/list?all=) in Kleene's table.
#include <boost/program_options/value_semantic.hpp>

#include "commands/all.hpp"
#include "commands/container_common.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

int run(const Context& ctx, const po::variables_map& vm) {
  const bool all = vm["all"].as<bool>();
  return list_table(ctx, std::string("/containers/list?all=") + (all ? "true" : "false"),
                    container_columns(), container_row);
}

}  // namespace

Command container_ls_command() {
  return Command{
      .path = {"container", "ls"},
      .aliases = {"list"},
      .shortcuts = {"lsc"},
      .summary = "List containers",
      .options =
          [](po::options_description& desc) {
            desc.add_options()("all,a", po::bool_switch(),
                               "Show all containers (default only shows running containers)");
          },
      .run = run,
  };
}

}  // namespace klee
