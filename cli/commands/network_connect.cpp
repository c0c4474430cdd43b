// klee network connect [--ip IP] [--ip6 IP6] NETWORK CONTAINER (POST /networks/connect): an
// omitted address is "<auto>", as Kleene's klee sends it. Prints nothing on success.
#include <boost/beast/http/verb.hpp>

#include "commands/all.hpp"
#include "commands/container_common.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

int run(const Context& ctx, const po::variables_map& vm) {
  const nlohmann::json endpoint = {
      {"network", positional(vm, "NETWORK")},
      {"container", positional(vm, "CONTAINER")},
      {"ip_address", optional_string(vm, "ip").value_or("<auto>")},
      {"ip_address6", optional_string(vm, "ip6").value_or("<auto>")},
  };
  auto sent = ctx.call({.method = boost::beast::http::verb::post,
                        .target = "/networks/connect",
                        .body = endpoint.dump()},
                       {204});
  return sent ? 0 : sent.error();
}

}  // namespace

Command network_connect_command() {
  return Command{
      .path = {"network", "connect"},
      .summary = "Connect a container to a network.",
      .description =
          "NETWORK and CONTAINER are network and container identifiers, respectively. Once "
          "connected, the container can communicate with other containers in the same network.",
      .options =
          [](po::options_description& desc) {
            desc.add_options()(
                "ip", po::value<std::string>()->value_name("TEXT"),
                "IPv4 address used for the container. If omitted and a ipv4 subnet exists for "
                "NETWORK, an unused ip is allocated. Otherwise it is ignored.")(
                "ip6", po::value<std::string>()->value_name("TEXT"),
                "IPv6 address used for the container. If omitted and a ipv6 subnet exists for "
                "NETWORK, an unused ip is allocated. Otherwise it is ignored.");
          },
      .positionals = {{.name = "NETWORK"}, {.name = "CONTAINER"}},
      .run = run,
  };
}

}  // namespace klee
