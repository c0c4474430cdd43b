// klee volume ls (list, lsv): the volumes (GET /volumes/list) in Kleene's table.
#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

// Kleene's VOLUME_LIST_COLUMNS: bold aquamarine1, bright_white.
const std::vector<Column> kColumns = {
    {.header = "VOLUME NAME", .style = "1;38;5;122"},
    {.header = "CREATED", .style = "97"},
};

int run(const Context& ctx, const po::variables_map&) {
  return list_table(ctx, "/volumes/list", kColumns, [](const nlohmann::json& v) -> Row {
    return {string_field(v, "name"), created_ago(v)};
  });
}

}  // namespace

Command volume_ls_command() {
  return Command{
      .path = {"volume", "ls"},
      .aliases = {"list"},
      .shortcuts = {"lsv"},
      .summary = "List volumes",
      .run = run,
  };
}

}  // namespace klee
