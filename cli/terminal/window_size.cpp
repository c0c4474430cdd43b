#include "terminal/window_size.hpp"

#include <sys/ioctl.h>

#include <csignal>

namespace klee {

std::optional<WindowSize> window_size(int fd) {
  winsize ws{};
  if (::ioctl(fd, TIOCGWINSZ, &ws) != 0) return std::nullopt;
  return WindowSize{ws.ws_row, ws.ws_col};
}

WindowSizeWatcher::WindowSizeWatcher(boost::asio::io_context& ioc, int fd,
                                     std::optional<WindowSize> last,
                                     std::function<void(WindowSize)> on_change)
    : fd_(fd), last_(last), on_change_(std::move(on_change)), signals_(ioc, SIGWINCH) {
  wait();
}

WindowSizeWatcher::~WindowSizeWatcher() {
  boost::system::error_code ignored;
  signals_.cancel(ignored);
}

void WindowSizeWatcher::wait() {
  signals_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    check();
    wait();
  });
}

void WindowSizeWatcher::check() {
  const auto size = window_size(fd_);
  if (!size || size == last_) return;
  last_ = size;
  on_change_(*size);
}

}  // namespace klee
