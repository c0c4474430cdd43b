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
  auto networks = ctx.call_json({.target = "/networks/list"}, {200});
  if (!networks) return networks.error();
  if (!networks->is_array()) {
    return ctx.fail(
        kleene::Error{kProtocolError, "Error! Unexpected response received from Kleened."});
  }
  std::vector<Row> rows;
  for (const auto& n : *networks) {
    rows.push_back({string_field(n, "id"), string_field(n, "name"), string_field(n, "type"),
                    string_field(n, "subnet")});
  }
  ctx.print_table(kColumns, rows);
  return 0;
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
