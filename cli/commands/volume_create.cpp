// klee volume create VOLUME_NAME (POST /volumes/create): an existing name is not an error.
#include <boost/beast/http/verb.hpp>

#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

int run(const Context& ctx, const po::variables_map& vm) {
  const nlohmann::json config = {{"name", positional(vm, "VOLUME_NAME")}};
  auto body = ctx.call_json({.method = boost::beast::http::verb::post,
                             .target = "/volumes/create",
                             .body = config.dump()},
                            {201});
  if (!body) return body.error();
  return print_id(ctx, *body);
}

}  // namespace

Command volume_create_command() {
  return Command{
      .path = {"volume", "create"},
      .summary = "Create a new volume. If the volume name already exists nothing happens.",
      .positionals = {{.name = "VOLUME_NAME"}},
      .run = run,
  };
}

}  // namespace klee
