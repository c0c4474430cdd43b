#include "app.hpp"

#include <unistd.h>

#include "commands/all.hpp"
#include "options/config_file.hpp"
#include "options/defaults.hpp"
#include "output/terminal_caps.hpp"

namespace klee {

int run_klee(std::span<const std::string> args, const EnvLookup& env, std::ostream& out,
             std::ostream& err) {
  const auto& registry = builtin_registry();
  auto root = parse_root_args(args);
  if (!root) {
    err << "Usage: klee [OPTIONS] COMMAND [ARGS]...\nTry 'klee --help' for help.\n\nError: "
        << root.error().message << std::endl;
    return 2;
  }
  if (root->flags.version) {
    out << "klee, version " << kVersion << std::endl;  // Click's version_option format
    return 0;
  }
  if (root->flags.help) {
    registry.print_root_help(out);
    return 0;
  }
  auto settings = resolve_settings(root->flags, env, default_config_locations(env("HOME")));
  if (!settings) {
    err << settings.error().message << std::endl;
    return 2;
  }
  const Client client(*settings);
  return registry.dispatch(
      root->command, out, err,
      [&](const Command& command, const boost::program_options::variables_map& vm,
          const std::string& path) {
        const Context ctx{.settings = *settings,
                          .client = client,
                          .out = out,
                          .err = err,
                          .color = use_color(settings->theme, STDOUT_FILENO, env),
                          .command_path = path};
        return command.run(ctx, vm);
      });
}

}  // namespace klee
