// kleened: parse the command line and config, optionally detach, run the Daemon until a
// signal. Exit codes: 0 ok, 1 runtime/start-up error, 2 usage/config error.
#include <malloc.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "config/config.hpp"
#include "daemon/command_line.hpp"
#include "daemon/daemon.hpp"
#include "daemon/detach.hpp"
#include "daemon/init_command.hpp"
#include "image/create/extract.hpp"

#ifndef KLEENE_VERSION
#define KLEENE_VERSION "0.0.0"
#endif

namespace {

using kleene::UniqueFd;

// Where start-up results go: --ready-fd and/or the --daemon pipe. One JSON line each.
struct Notifier {
  UniqueFd ready_fd;
  UniqueFd detach_pipe;

  void send(const nlohmann::json& message) {
    const std::string line = message.dump() + "\n";
    for (UniqueFd* fd : {&ready_fd, &detach_pipe}) {
      if (!*fd) continue;
      std::size_t written = 0;
      while (written < line.size()) {
        const ssize_t n = ::write(fd->get(), line.data() + written, line.size() - written);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        written += static_cast<std::size_t>(n);
      }
      fd->reset();
    }
  }
};

int fail(Notifier& notifier, const std::string& message, int code) {
  std::fprintf(stderr, "kleened: %s\n", message.c_str());
  notifier.send({{"error", message}});
  return code;
}

}  // namespace

int main(int argc, char* argv[]) {
  // kleened re-executed as its own archive extractor (image/create/extract.hpp).
  if (argc > 1 && std::string_view(argv[1]) == "extract-archive")
    return kleene::image::run_extract_helper(argc, argv);
  // At most two malloc arenas instead of glibc's eight per core: kleened's threads mostly wait
  // on processes, pipes and sockets, and every arena keeps free memory of its own.
  ::mallopt(M_ARENA_MAX, 2);
  Notifier notifier;
  auto line = kleene::daemon::parse_command_line(argc, argv);
  if (!line) {
    std::fprintf(stderr, "kleened: %s\n\n%s", line.error().message.c_str(),
                 kleene::daemon::usage().c_str());
    return 2;
  }
  if (line->ready_fd) notifier.ready_fd = UniqueFd(*line->ready_fd);
  if (line->show_help) {
    std::cout << kleene::daemon::usage();
    return 0;
  }
  if (line->show_version) {
    std::cout << "kleened " << KLEENE_VERSION << "\n";
    return 0;
  }

  auto config = kleene::config::load_config(line->config_path, line->config_explicit);
  if (!config) return fail(notifier, config.error().message, 2);
  if (line->command == "init")
    return kleene::daemon::run_init(*config, line->dry_run, std::cout, std::cerr);

  if (line->daemonize) {
    auto pipe = kleene::daemon::detach();
    if (!pipe) return fail(notifier, pipe.error().message, 1);
    notifier.detach_pipe = std::move(*pipe);
  }

  // Archives are unpacked by a child: this binary again (/proc/self/exe stays this file even
  // when an upgrade replaces it on disk), confined, so libarchive never loads in the daemon.
  kleene::image::set_extract_helper("/proc/self/exe");
  kleene::daemon::DaemonOptions options;
  options.log_to_stderr = !line->daemonize;
  auto daemon = kleene::daemon::Daemon::start(std::move(*config), options);
  if (!daemon) return fail(notifier, daemon.error().message, 1);

  // Ready means storage is settled too, so `klee image ...` right after start-up finds it.
  const std::string storage = (*daemon)->wait_for_storage();
  notifier.send({{"pid", ::getpid()},
                 {"listening", (*daemon)->listening()},
                 {"storage", storage.empty() ? std::string("ready") : storage}});
  (*daemon)->wait_for_signal();
  (*daemon)->stop();
  return 0;
}
