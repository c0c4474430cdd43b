// klee container update CONTAINER [COMMAND]... (POST /containers/{id}/update): only what is
// given is sent, so only that changes. -e and -J replace the whole list.
#include <boost/beast/http/verb.hpp>
#include <boost/program_options/value_semantic.hpp>

#include "commands/all.hpp"
#include "commands/container_common.hpp"
#include "commands/image_volume_common.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

int run(const Context& ctx, const po::variables_map& vm) {
  nlohmann::json config = nlohmann::json::object();
  if (auto name = optional_string(vm, "name")) config["name"] = *name;
  if (auto user = optional_string(vm, "user")) config["user"] = *user;
  if (vm.count("env") != 0) config["env"] = multi(vm, "env");
  if (vm.count("jailparam") != 0) config["jail_param"] = multi(vm, "jailparam");
  if (vm["persist"].as<bool>()) config["persist"] = true;
  if (vm["no-persist"].as<bool>()) config["persist"] = false;
  if (auto restart = optional_string(vm, "restart")) {
    if (*restart != "no" && *restart != "on-startup") {
      ctx.err << "Error: Invalid value for '--restart': '" << *restart
              << "' is not one of 'no', 'on-startup'." << std::endl;
      return 2;
    }
    config["restart_policy"] = *restart;
  }
  if (auto command = positionals(vm, "COMMAND"); !command.empty()) config["cmd"] = command;
  const auto target = "/containers/" + url_escape(positional(vm, "CONTAINER")) + "/update";
  auto body = ctx.call_json(
      {.method = boost::beast::http::verb::post, .target = target, .body = config.dump()}, {201});
  if (!body) return body.error();
  if (int rc = print_id(ctx, *body); rc != 0) return rc;
  // kleened says which changes wait for a restart of a running container.
  if (auto warning = string_field(*body, "warning"); !warning.empty()) {
    ctx.out << warning << "\n" << std::flush;
  }
  return 0;
}

}  // namespace

Command container_update_command() {
  return Command{
      .path = {"container", "update"},
      .summary = "Modify container properties.",
      .description =
          "Using `jailparam` and `env` removes all values from the existing configration. "
          "Only the properties given change.",
      .options =
          [](po::options_description& desc) {
            auto text = [] { return po::value<std::string>()->value_name("TEXT"); };
            auto list = [] { return po::value<std::vector<std::string>>()->value_name("list"); };
            desc.add_options()("name", text(), "Assign a new name to the container")(
                "user,u", text(), "Default user used when running commands in the container")(
                "env,e", list(),
                "Set environment variables (e.g. `--env FIRST=env --env SECOND=env`)")(
                "jailparam,J", list(),
                "Set jail parameters. Replace defaults (such as 'mount.devfs', 'exec.clean', "
                "etc.) by specifying alternative values. See docs for details.")(
                "persist,P", po::bool_switch(), "Do not remove this container when pruning")(
                "no-persist", po::bool_switch(), "Let pruning remove this container again")(
                "restart", text(),
                "Restarting policy of the container. Set to 'no' for no automatic restart of "
                "the container. Set to 'on-startup' to start the container each time Kleened "
                "is.");
          },
      .positionals = {{.name = "CONTAINER"},
                      {.name = "COMMAND", .max_count = -1, .required = false}},
      .pass_through = true,
      .run = run,
  };
}

}  // namespace klee
