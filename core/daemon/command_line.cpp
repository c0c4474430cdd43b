#include "daemon/command_line.hpp"

#include <fcntl.h>

#include <sstream>

#include <boost/program_options.hpp>

#ifndef KLEENE_DEFAULT_CONFIG
#define KLEENE_DEFAULT_CONFIG "/etc/kleened/config.yaml"
#endif

namespace kleene::daemon {
namespace {

namespace po = boost::program_options;

po::options_description options() {
  po::options_description description("Options");
  description.add_options()                                                                      //
      ("config,c", po::value<std::string>(), "config file (default " KLEENE_DEFAULT_CONFIG ")")  //
      ("foreground,f", "run in the foreground, logging to stderr too (the default)")             //
      ("daemon,d", "detach; exit once the daemon listens (1 and its error if it fails)")         //
      ("ready-fd", po::value<int>(), "write {\"pid\":..,\"listening\":[..]} to fd N when ready")(
          "version,v", "print the version and exit")                         //
      ("dry-run", "with init: print what init would do and change nothing")  //
      ("help,h", "print this help and exit");
  return description;
}

}  // namespace

std::string usage() {
  std::ostringstream out;
  out << "Usage: kleened [OPTIONS]\n       kleened [--config PATH] init [--dry-run]\n\n"
         "The kleene container engine daemon. `init` prepares the host's storage: it creates\n"
         "the ZFS pool (on a sparse file) if it is missing and kleene's datasets.\n\n"
      << options();
  return out.str();
}

Result<CommandLine> parse_command_line(int argc, const char* const argv[]) {
  po::options_description all = options();
  all.add_options()("command", po::value<std::vector<std::string>>(), "");
  po::positional_options_description positional;
  positional.add("command", -1);
  po::variables_map values;
  try {
    po::store(po::command_line_parser(argc, argv).options(all).positional(positional).run(),
              values);
    po::notify(values);
  } catch (const po::error& e) {
    return make_error(EINVAL, e.what());
  }
  CommandLine line;
  line.config_path = KLEENE_DEFAULT_CONFIG;
  if (values.count("config")) {
    line.config_path = values["config"].as<std::string>();
    line.config_explicit = true;
  }
  line.daemonize = values.count("daemon") > 0;
  if (line.daemonize && values.count("foreground"))
    return make_error(EINVAL, "--daemon and --foreground exclude each other");
  if (values.count("ready-fd")) {
    const int fd = values["ready-fd"].as<int>();
    if (fd < 0 || ::fcntl(fd, F_GETFD) < 0)
      return make_error(EINVAL,
                        "--ready-fd " + std::to_string(fd) + " is not an open file descriptor");
    line.ready_fd = fd;
  }
  line.show_version = values.count("version") > 0;
  line.show_help = values.count("help") > 0;
  if (values.count("command")) {
    auto words = values["command"].as<std::vector<std::string>>();
    line.command = words.front();
    line.args.assign(words.begin() + 1, words.end());
  }
  line.dry_run = values.count("dry-run") > 0;
  if (!line.command.empty() && line.command != "init")
    return make_error(EINVAL, "unknown command '" + line.command + "'");
  if (!line.args.empty())
    return make_error(EINVAL, "unexpected argument '" + line.args.front() + "'");
  if (line.dry_run && line.command != "init") return make_error(EINVAL, "--dry-run needs init");
  if (line.command == "init" && line.daemonize)
    return make_error(EINVAL, "init runs in the foreground: drop --daemon");
  return line;
}

}  // namespace kleene::daemon
