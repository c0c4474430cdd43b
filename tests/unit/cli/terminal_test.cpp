// Raw mode and window size on a pseudo-terminal created for the test.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>

#include "terminal/raw_mode.hpp"
#include "terminal/window_size.hpp"

namespace klee {
namespace {

class Pty : public ::testing::Test {
 protected:
  void SetUp() override {
    master_ = ::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master_ < 0 || ::grantpt(master_) != 0 || ::unlockpt(master_) != 0) {
      GTEST_SKIP() << "no pseudo-terminals here";
    }
    slave_ = ::open(::ptsname(master_), O_RDWR | O_NOCTTY | O_CLOEXEC);
    ASSERT_GE(slave_, 0);
  }
  void TearDown() override {
    if (slave_ >= 0) ::close(slave_);
    if (master_ >= 0) ::close(master_);
  }
  int master_ = -1;
  int slave_ = -1;
};

TEST_F(Pty, RawModeIsRestoredOnScopeExit) {
  termios before{};
  ASSERT_EQ(::tcgetattr(slave_, &before), 0);
  ASSERT_TRUE(before.c_lflag & ICANON);
  {
    auto raw = RawMode::enable(slave_);
    ASSERT_TRUE(raw) << raw.error().message;
    termios during{};
    ASSERT_EQ(::tcgetattr(slave_, &during), 0);
    EXPECT_FALSE(during.c_lflag & ICANON);
    EXPECT_FALSE(during.c_lflag & ECHO);
    auto moved = std::move(*raw);  // ownership moves, restore happens once
  }
  termios after{};
  ASSERT_EQ(::tcgetattr(slave_, &after), 0);
  EXPECT_EQ(after.c_lflag, before.c_lflag);
  EXPECT_EQ(after.c_iflag, before.c_iflag);
  EXPECT_EQ(after.c_oflag, before.c_oflag);
}

TEST_F(Pty, RawModeNeedsATerminal) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  EXPECT_FALSE(RawMode::enable(fds[0]));
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST_F(Pty, WindowSize) {
  winsize ws{};
  ws.ws_row = 42;
  ws.ws_col = 132;
  ASSERT_EQ(::ioctl(master_, TIOCSWINSZ, &ws), 0);
  auto size = window_size(slave_);
  ASSERT_TRUE(size);
  EXPECT_EQ(size->rows, 42);
  EXPECT_EQ(size->columns, 132);
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  EXPECT_FALSE(window_size(fds[0]));
  ::close(fds[0]);
  ::close(fds[1]);
}

}  // namespace
}  // namespace klee
