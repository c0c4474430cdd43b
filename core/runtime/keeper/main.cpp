// kleene-keeper: one per running container, started by kleened (runtime.cpp) detached from it,
// with the start-up socket on fd 3. See docs/runtime.md.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

#include "container.hpp"

namespace {

constexpr int kStartupFd = 3;

void reset_signals() {
  for (int sig = 1; sig < NSIG; ++sig)
    ::signal(sig, SIG_DFL);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  ::sigprocmask(SIG_SETMASK, &mask, nullptr);
}

}  // namespace

// Sanitized builds: LeakSanitizer's exit-time check clones a tracer task, which cannot be
// created in the (by then dead) container pid namespace we joined for our children.
extern "C" __attribute__((visibility("default"), used)) int __lsan_is_turned_off() {
  return 1;
}

int main(int argc, char** argv) {
  // First of all: no /proc/<keeper> access for anybody without CAP_SYS_PTRACE (its exe is the
  // sealed copy kleened runs, but nobody in a container needs to see even that), and the name
  // tools and tests know it by (started from a memfd, it would be named after the fd).
  ::prctl(PR_SET_DUMPABLE, 0);
  ::prctl(PR_SET_NAME, "kleene-keeper");
  struct stat st {};
  if (argc != 2 || ::fstat(kStartupFd, &st) != 0 || !S_ISSOCK(st.st_mode)) {
    std::fprintf(stderr, "usage: %s CONTAINER_ID (started by kleened, not by hand)\n", argv[0]);
    return 2;
  }
  ::umask(0077);
  reset_signals();
  kleene::keeper::Keeper keeper;
  if (auto started = keeper.start(kStartupFd); !started) {
    kleene::keeper::log("start failed: %s", started.error().message.c_str());
    (void)kleene::runtime::protocol::write_all(
        kStartupFd, kleene::runtime::protocol::encode_error(started.error()));
    keeper.cleanup();
    return 1;
  }
  (void)kleene::runtime::protocol::write_all(kStartupFd, keeper.state_frame());
  ::close(kStartupFd);
  kleene::keeper::drop_startup_text();
  keeper.run();
  keeper.cleanup();
  return 0;
}
