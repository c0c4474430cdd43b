// klee container exec (exec): a new execution instance in a container (started if needed),
// attached unless -d; exits with the process's exit code when attached.
#include <boost/program_options/value_semantic.hpp>

#include "commands/all.hpp"
#include "commands/container_common.hpp"
#include "commands/exec_attach.hpp"

namespace po = boost::program_options;

namespace klee {
namespace {

int run(const Context& ctx, const po::variables_map& vm) {
  const auto flags = exec_flags(vm);
  return run_execution(ctx, {.container = positional(vm, "CONTAINER"),
                             .cmd = positionals(vm, "COMMAND"),
                             .env = multi(vm, "env"),
                             .user = optional_string(vm, "user").value_or(""),
                             .tty = flags.tty,
                             .interactive = flags.interactive,
                             .detach = flags.detach});
}

}  // namespace

Command container_exec_command() {
  return Command{
      .path = {"container", "exec"},
      .shortcuts = {"exec"},
      .summary = "Run a command in a container",
      .options =
          [](po::options_description& desc) {
            add_exec_options(desc);
            desc.add_options()(
                "env,e", po::value<std::vector<std::string>>()->value_name("list"),
                "Set environment variables (e.g. `--env FIRST=value1 --env SECOND=value2`)")(
                "user,u", po::value<std::string>()->value_name("TEXT"),
                "Username or UID of the user running the process");
          },
      .positionals = {{.name = "CONTAINER"},
                      {.name = "COMMAND", .max_count = -1, .required = false}},
      .pass_through = true,
      .run = run,
  };
}

}  // namespace klee
