#include "image/create/stream_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "util/spawn.hpp"
#include "util/unique_fd.hpp"

namespace kleene::image {
namespace {

int wait_for(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return util::exit_code_of(status);
}

}  // namespace

Result<int> run_streaming(const StreamSpec& spec) {
  if (spec.argv.empty() || !spec.argv[0].starts_with('/')) {
    return make_error(EINVAL, "run_streaming: argv[0] must be an absolute path");
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd read_end(fds[0]);
  UniqueFd write_end(fds[1]);

  util::SpawnSetup setup;
  posix_spawn_file_actions_addopen(&setup.actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&setup.actions, write_end.get(), 1);
  posix_spawn_file_actions_adddup2(&setup.actions, write_end.get(), 2);

  std::vector<char*> argv;
  for (const auto& a : spec.argv)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : spec.env)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = 0;
  const int rc =
      ::posix_spawn(&pid, argv[0], &setup.actions, &setup.attr, argv.data(), envp.data());
  if (rc != 0) return make_error(rc, spec.argv[0] + ": " + std::strerror(rc));
  write_end.reset();

  char buffer[8192];
  for (;;) {
    if (spec.cancelled && spec.cancelled()) {
      ::kill(-pid, SIGKILL);
      wait_for(pid);
      return make_error(ECANCELED, spec.argv[0] + " cancelled");
    }
    pollfd p{read_end.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, 250);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) continue;
    const ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: the child (and whatever inherited the pipe) is done with it
    if (spec.on_output) spec.on_output(std::string_view(buffer, static_cast<std::size_t>(n)));
  }
  return wait_for(pid);
}

}  // namespace kleene::image
