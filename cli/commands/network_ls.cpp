// klee network ls (list): the networks (GET /networks/list) in Kleene's table.
#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

// Kleene's NETWORK_LIST_COLUMNS: cyan, bold aquamarine1, bright_white, bold aquamarine1.
const std::vector<Column> kColumns = {
    {.header = "ID", .style = "36"},
    {.header = "NAME", .style = "1;38;5;122"},
    {.header = "TYPE", .style = "97"},
    {.header = "SUBNET", .style = "1;38;5;122"},
};

int run(const Context& ctx, const po::variables_map&) {
  return list_table(ctx, "/networks/list", kColumns, [](const nlohmann::json& n) -> Row {
    return {string_field(n, "id"), string_field(n, "name"), string_field(n, "type"),
            string_field(n, "subnet")};
  });
}

}  // namespace

Command network_ls_command() {
  return Command{
      .path = {"network", "ls"},
      .aliases = {"list"},
      .summary = "List networks",
      .run = run,
  };
}

}  // namespace klee
