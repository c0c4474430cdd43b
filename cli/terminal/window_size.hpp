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
  bool operator==(const WindowSize&) const = default;
};

// nullopt when `fd` is not a terminal.
[[nodiscard]] std::optional<WindowSize> window_size(int fd);

// Calls `on_change` with the new size when it differs from the last one seen: after a
// SIGWINCH, and when `check()` is called. The signal is handled on `ioc` and may come after
// input typed after the resize, so a session calls `check()` before it forwards input: the
// server then gets the new size before the keys typed in it.
class WindowSizeWatcher {
 public:
  // `last` is the size the server already has.
  WindowSizeWatcher(boost::asio::io_context& ioc, int fd, std::optional<WindowSize> last,
                    std::function<void(WindowSize)> on_change);
  ~WindowSizeWatcher();
  WindowSizeWatcher(const WindowSizeWatcher&) = delete;
  WindowSizeWatcher& operator=(const WindowSizeWatcher&) = delete;

  void check();

 private:
  void wait();
  int fd_;
  std::optional<WindowSize> last_;
  std::function<void(WindowSize)> on_change_;
  boost::asio::signal_set signals_;
};

}  // namespace klee
