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
  return list_table(ctx, "/images/list", kColumns, [](const nlohmann::json& image) -> Row {
    return {string_field(image, "id"), string_field(image, "name"), string_field(image, "tag"),
            created_ago(image)};
  });
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
