// The attached /exec/start session: stdin frames, end of input, window size on a pty, and
// what the server's Close says.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <pty.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "commands/exec_attach.hpp"
#include "test_server.hpp"
#include "test_support.hpp"

namespace klee {
namespace {

using nlohmann::json;
using test::TestServer;

Endpoint endpoint_for(const TestServer& server) {
  Settings settings;
  settings.host = server.url();
  auto endpoint = make_endpoint(settings);
  EXPECT_TRUE(endpoint) << endpoint.error().message;
  return *endpoint;
}

const json kConfig = {{"exec_id", "e0000000001"}, {"attach", true}, {"start_container", true}};

struct Fds {
  int read = -1, write = -1;
  ~Fds() {
    if (read >= 0) ::close(read);
    if (write >= 0) ::close(write);
  }
};

TEST(Attach, Frames) {
  EXPECT_EQ(stdin_frame("ab"), std::string("\x00"
                                           "ab",
                                           3));
  EXPECT_EQ(resize_frame({.rows = 24, .columns = 80}), "\x01{\"cols\":80,\"rows\":24}");
  EXPECT_EQ(end_of_stdin_frame(), std::string(1, '\x02'));
}

TEST(Attach, ForwardsStdinUntilEndOfInput) {
  auto server = TestServer::on_tcp();
  Fds pipe_fds;
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  pipe_fds.read = fds[0];
  pipe_fds.write = fds[1];
  ASSERT_EQ(::write(pipe_fds.write, "echo hi\n", 8), 8);
  ::close(pipe_fds.write);
  pipe_fds.write = -1;

  std::string output;
  auto result = attach_session(endpoint_for(*server), kConfig,
                               {.interactive = true,
                                .stdin_fd = pipe_fds.read,
                                .on_output = [&](std::string_view d) { output.append(d); },
                                .handle_signals = false});
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(result->started);
  EXPECT_EQ(result->close_code, 1000u);
  EXPECT_EQ(result->reason.message,
            "executable e0000000001 and its container exited with exit-code 3");
  EXPECT_EQ(result->signal, 0);
  EXPECT_EQ(output, "hello\necho hi\n");  // the server echoes stdin frames
  EXPECT_EQ(server->last().ws_frames,
            (std::vector<std::string>{stdin_frame("echo hi\n"), end_of_stdin_frame()}));
}

TEST(Attach, TtySendsTheWindowSizeFirstAndRestoresTheTerminal) {
  auto server = TestServer::on_tcp();
  int master = -1, slave = -1;
  winsize size{.ws_row = 33, .ws_col = 101, .ws_xpixel = 0, .ws_ypixel = 0};
  ASSERT_EQ(::openpty(&master, &slave, nullptr, nullptr, &size), 0);
  Fds pty;
  pty.read = slave;
  pty.write = master;
  termios before{};
  ASSERT_EQ(::tcgetattr(slave, &before), 0);

  // The first output frame comes after the terminal was switched to raw mode (which flushes
  // pending input): type then, a command and ^D, which raw mode passes on as bytes.
  std::string output;
  bool typed = false;
  auto on_output = [&](std::string_view data) {
    output.append(data);
    if (!typed && output.find("hello\n") != std::string::npos) {
      typed = true;
      termios now{};
      ASSERT_EQ(::tcgetattr(slave, &now), 0);
      EXPECT_EQ(now.c_lflag & (ICANON | ECHO), 0u);
      ASSERT_EQ(::write(master, "ls\r\x04", 4), 4);
    }
  };
  auto result = attach_session(endpoint_for(*server), kConfig,
                               {.interactive = true,
                                .tty = true,
                                .stdin_fd = slave,
                                .on_output = on_output,
                                .handle_signals = false});
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->close_code, 1000u);
  const auto frames = server->last().ws_frames;
  ASSERT_GE(frames.size(), 2u);
  EXPECT_EQ(frames.front(), resize_frame({.rows = 33, .columns = 101}));
  std::string typed_bytes;
  for (std::size_t i = 1; i < frames.size(); ++i) {
    ASSERT_EQ(frames[i][0], kFrameStdin);
    typed_bytes += frames[i].substr(1);
  }
  EXPECT_EQ(typed_bytes, "ls\r\x04");
  termios after{};
  ASSERT_EQ(::tcgetattr(slave, &after), 0);
  EXPECT_EQ(after.c_lflag, before.c_lflag);  // raw mode undone
}

TEST(Attach, DetachedStartIsAClose1001) {
  auto server = TestServer::on_tcp();
  json config = kConfig;
  config["attach"] = false;
  auto result = attach_session(endpoint_for(*server), config, {.handle_signals = false});
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_FALSE(result->started);
  EXPECT_EQ(result->close_code, 1001u);
}

}  // namespace
}  // namespace klee
