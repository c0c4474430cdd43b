#include "terminal/raw_mode.hpp"

#include <unistd.h>

#include <csignal>
#include <cstring>

namespace klee {
namespace {

// What a signal handler needs to put the terminal back; written before the handlers are
// installed, read only from them (tcsetattr is async-signal-safe).
volatile sig_atomic_t g_active = 0;
int g_fd = -1;
termios g_saved{};

constexpr int kFatalSignals[] = {SIGHUP, SIGTERM, SIGQUIT, SIGABRT, SIGSEGV, SIGBUS, SIGFPE};
struct sigaction g_previous[sizeof kFatalSignals / sizeof kFatalSignals[0]];

void restore_and_reraise(int sig) {
  if (g_active) ::tcsetattr(g_fd, TCSAFLUSH, &g_saved);
  g_active = 0;
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install_handlers() {
  struct sigaction action {};
  action.sa_handler = restore_and_reraise;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESETHAND;
  for (std::size_t i = 0; i < std::size(kFatalSignals); ++i) {
    ::sigaction(kFatalSignals[i], &action, &g_previous[i]);
  }
}

void remove_handlers() {
  for (std::size_t i = 0; i < std::size(kFatalSignals); ++i) {
    ::sigaction(kFatalSignals[i], &g_previous[i], nullptr);
  }
}

}  // namespace

kleene::Result<RawMode> RawMode::enable(int fd) {
  termios saved{};
  if (::tcgetattr(fd, &saved) != 0) {
    return kleene::make_error(errno, std::string("terminal: ") + std::strerror(errno));
  }
  termios raw = saved;
  ::cfmakeraw(&raw);
  g_fd = fd;
  g_saved = saved;
  g_active = 1;
  install_handlers();
  if (::tcsetattr(fd, TCSAFLUSH, &raw) != 0) {
    const int err = errno;
    g_active = 0;
    remove_handlers();
    return kleene::make_error(err, std::string("terminal: ") + std::strerror(err));
  }
  return RawMode(fd, saved);
}

RawMode::RawMode(RawMode&& other) noexcept : fd_(other.fd_), saved_(other.saved_) {
  other.fd_ = -1;
}

RawMode::~RawMode() {
  restore();
}

void RawMode::restore() noexcept {
  if (fd_ < 0) return;
  ::tcsetattr(fd_, TCSAFLUSH, &saved_);
  g_active = 0;
  remove_handlers();
  fd_ = -1;
}

}  // namespace klee
