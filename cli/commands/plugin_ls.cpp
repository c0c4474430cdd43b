// klee plugin ls: the plugins kleened loaded (GET /plugins/list), in the server's order.
#include <boost/program_options/value_semantic.hpp>

#include "commands/all.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

const std::vector<Column> kColumns = {
    {.header = "NAME", .style = "1"},
    {.header = "KIND", .style = "36"},
    {.header = "VERSION"},
    {.header = "ABI"},
    {.header = "CAPABILITIES"},
};

std::string field(const nlohmann::json& plugin, const char* key) {
  auto it = plugin.find(key);
  return it != plugin.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string capabilities(const nlohmann::json& plugin) {
  std::string out;
  auto it = plugin.find("capabilities");
  if (it == plugin.end() || !it->is_array()) return out;
  for (const auto& cap : *it) {
    if (!cap.is_string()) continue;
    if (!out.empty()) out += ",";
    out += cap.get<std::string>();
  }
  return out;
}

int run(const Context& ctx, const po::variables_map& vm) {
  const auto format = vm["format"].as<std::string>();
  if (format != "table" && format != "json") {
    ctx.err << "Error: Invalid value for '--format': '" << format
            << "' is not one of 'table', 'json'." << std::endl;
    return 2;
  }
  auto plugins = ctx.call_json({.target = "/plugins/list"}, {200});
  if (!plugins) return plugins.error();
  if (!plugins->is_array()) {
    return ctx.fail(
        kleene::Error{kProtocolError, "Error! Unexpected response received from Kleened."});
  }
  if (format == "json") {
    ctx.print_json(*plugins);
    return 0;
  }
  std::vector<Row> rows;
  for (const auto& p : *plugins) {
    rows.push_back({field(p, "name"), field(p, "kind"), field(p, "version"), field(p, "abi"),
                    capabilities(p)});
  }
  ctx.print_table(kColumns, rows);
  return 0;
}

}  // namespace

Command plugin_ls_command() {
  return Command{
      .path = {"plugin", "ls"},
      .aliases = {"list"},
      .summary = "List the plugins loaded by kleened",
      .options =
          [](po::options_description& desc) {
            desc.add_options()(
                "format", po::value<std::string>()->default_value("table")->value_name("FORMAT"),
                "Output format: 'table' or 'json'.");
          },
      .run = run,
  };
}

}  // namespace klee
