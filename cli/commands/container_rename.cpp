// klee container rename CONTAINER NAME (POST /containers/{id}/update with only the name).
#include <boost/beast/http/verb.hpp>

#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {

Command container_rename_command() {
  return Command{
      .path = {"container", "rename"},
      .summary = "Rename a container.",
      .positionals = {{.name = "CONTAINER"}, {.name = "NAME"}},
      .run =
          [](const Context& ctx, const po::variables_map& vm) {
            const nlohmann::json config = {{"name", positional(vm, "NAME")}};
            auto body = ctx.call_json(
                {.method = boost::beast::http::verb::post,
                 .target = "/containers/" + url_escape(positional(vm, "CONTAINER")) + "/update",
                 .body = config.dump()},
                {201});
            if (!body) return body.error();
            return print_id(ctx, *body);
          },
  };
}

}  // namespace klee
