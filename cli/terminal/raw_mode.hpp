// Raw terminal mode for `-it`, always undone: on scope exit, and on fatal signals.
#pragma once

#include <termios.h>

#include "util/error.hpp"

namespace klee {

class RawMode {
 public:
  // Switches `fd` (a terminal) to raw mode; an error if it is not a terminal.
  [[nodiscard]] static kleene::Result<RawMode> enable(int fd);

  RawMode(RawMode&& other) noexcept;
  RawMode& operator=(RawMode&&) = delete;
  RawMode(const RawMode&) = delete;
  RawMode& operator=(const RawMode&) = delete;
  ~RawMode();

  // Puts the saved settings back now (idempotent).
  void restore() noexcept;

 private:
  RawMode(int fd, const termios& saved) : fd_(fd), saved_(saved) {}
  int fd_ = -1;
  termios saved_{};
};

}  // namespace klee
