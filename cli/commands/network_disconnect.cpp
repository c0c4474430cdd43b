// klee network disconnect NETWORK CONTAINER (POST /networks/{network}/disconnect/{container}).
// Prints nothing on success.
#include <boost/beast/http/verb.hpp>

#include "commands/all.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

int run(const Context& ctx, const po::variables_map& vm) {
  const auto target = "/networks/" + url_escape(positional(vm, "NETWORK")) + "/disconnect/" +
                      url_escape(positional(vm, "CONTAINER"));
  auto sent = ctx.call({.method = boost::beast::http::verb::post, .target = target}, {204});
  return sent ? 0 : sent.error();
}

}  // namespace

Command network_disconnect_command() {
  return Command{
      .path = {"network", "disconnect"},
      .summary = "Disconnect a container from a network.",
      .description = "Running containers can also be disconnected from a network.",
      .positionals = {{.name = "NETWORK"}, {.name = "CONTAINER"}},
      .run = run,
  };
}

}  // namespace klee
