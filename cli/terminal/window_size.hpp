// Terminal size, and a hook that fires when it changes (SIGWINCH), for `-it` sessions.
#pragma once

#include <functional>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

namespace klee {

struct WindowSize {
  unsigned short rows = 0;
  unsigned short columns = 0;
};

// nullopt when `fd` is not a terminal.
[[nodiscard]] std::optional<WindowSize> window_size(int fd);

// Calls `on_change` with the new size after every SIGWINCH while it lives; runs on `ioc`.
class WindowSizeWatcher {
 public:
  WindowSizeWatcher(boost::asio::io_context& ioc, int fd,
                    std::function<void(WindowSize)> on_change);
  ~WindowSizeWatcher();
  WindowSizeWatcher(const WindowSizeWatcher&) = delete;
  WindowSizeWatcher& operator=(const WindowSizeWatcher&) = delete;

 private:
  void wait();
  int fd_;
  std::function<void(WindowSize)> on_change_;
  boost::asio::signal_set signals_;
};

}  // namespace klee
