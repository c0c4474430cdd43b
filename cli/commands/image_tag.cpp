// klee image tag SOURCE_IMAGE NAMETAG (POST /images/{id}/tag?nametag=): the nametag moves to
// this image if another image held it.
#include <boost/beast/http/verb.hpp>

#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

int run(const Context& ctx, const po::variables_map& vm) {
  const auto target = "/images/" + url_escape(positional(vm, "SOURCE_IMAGE")) +
                      "/tag?nametag=" + url_escape(positional(vm, "NAMETAG"));
  auto body = ctx.call_json({.method = boost::beast::http::verb::post, .target = target}, {200});
  if (!body) return body.error();
  return print_id(ctx, *body);
}

}  // namespace

Command image_tag_command() {
  return Command{
      .path = {"image", "tag"},
      .summary = "Update the tag of image SOURCE_IMAGE to NAMETAG.",
      .description = "NAMETAG uses the `name:tag` format. If `:tag` is omitted, `:latest` is used.",
      .positionals = {{.name = "SOURCE_IMAGE"}, {.name = "NAMETAG"}},
      .run = run,
  };
}

}  // namespace klee
