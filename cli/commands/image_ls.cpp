// klee image ls (list, lsi): the images (GET /images/list) in Kleene's table.
#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

// Kleene's IMAGE_LIST_COLUMNS: cyan, bold aquamarine1, aquamarine1, bright_white.
const std::vector<Column> kColumns = {
    {.header = "ID", .style = "36"},
    {.header = "NAME", .style = "1;38;5;122"},
    {.header = "TAG", .style = "38;5;122"},
    {.header = "CREATED", .style = "97"},
};

int run(const Context& ctx, const po::variables_map&) {
  auto images = ctx.call_json({.target = "/images/list"}, {200});
  if (!images) return images.error();
  if (!images->is_array()) {
    return ctx.fail(
        kleene::Error{kProtocolError, "Error! Unexpected response received from Kleened."});
  }
  std::vector<Row> rows;
  for (const auto& image : *images) {
    rows.push_back({string_field(image, "id"), string_field(image, "name"),
                    string_field(image, "tag"), created_ago(image)});
  }
  ctx.print_table(kColumns, rows);
  return 0;
}

}  // namespace

Command image_ls_command() {
  return Command{
      .path = {"image", "ls"},
      .aliases = {"list"},
      .shortcuts = {"lsi"},
      .summary = "List images",
      .run = run,
  };
}

}  // namespace klee
