#include "daemon/detach.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

namespace kleene::daemon {
namespace {

// The original process: wait for the daemon's one JSON line and exit accordingly.
[[noreturn]] void await_daemon(UniqueFd read_end, pid_t child) {
  std::string line;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(read_end.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    line.append(buffer, static_cast<std::size_t>(n));
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  const auto ready = nlohmann::json::parse(line, nullptr, false);
  if (ready.is_object() && ready.contains("pid")) std::_Exit(0);
  if (ready.is_object() && ready.contains("error") && ready["error"].is_string())
    std::fprintf(stderr, "kleened: %s\n", ready["error"].get<std::string>().c_str());
  else
    std::fprintf(stderr, "kleened: the daemon exited during start-up\n");
  std::_Exit(1);
}

Result<void> to_dev_null() {
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return errno_error("open /dev/null");
  for (int fd = 0; fd <= 2; ++fd)
    if (::dup2(null.get(), fd) < 0) return errno_error("dup2 /dev/null");
  return {};
}

}  // namespace

Result<UniqueFd> detach() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  std::fflush(nullptr);
  const pid_t child = ::fork();
  if (child < 0) return errno_error("fork");
  if (child > 0) {
    write_end.reset();
    await_daemon(std::move(read_end), child);
  }
  read_end.reset();
  if (::setsid() < 0) std::_Exit(1);
  const pid_t grandchild = ::fork();
  if (grandchild < 0) std::_Exit(1);
  if (grandchild > 0) std::_Exit(0);  // the session leader goes; the daemon can never get a tty
  if (::chdir("/") != 0) return errno_error("chdir /");
  TRY(to_dev_null());
  return write_end;
}

}  // namespace kleene::daemon
