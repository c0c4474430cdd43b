// Kleene's WebSocket protocol, client side, against the in-test server.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <sstream>

#include "commands/context.hpp"
#include "test_server.hpp"
#include "test_support.hpp"
#include "transport/client.hpp"

namespace klee {
namespace {

using test::TempDir;
using test::TestServer;

Settings settings_for(const std::string& host) {
  Settings s;
  s.host = host;
  return s;
}

WsHandlers collect(std::string& output, bool& started) {
  WsHandlers h;
  h.on_output = [&output](std::string_view data) { output.append(data); };
  h.on_starting = [&started] { started = true; };
  h.close_on_signal = false;
  return h;
}

TEST(WsClient, StreamsOutputAndReturnsCloseReason) {
  TempDir dir;
  auto server = TestServer::on_unix_socket(dir.file("kleened.sock"));
  std::string output;
  bool started = false;
  const nlohmann::json config{{"exec_id", "abc"}, {"attach", true}};
  auto result =
      Client(settings_for(server->url())).websocket("/ws/ok", config, collect(output, started));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_TRUE(started);
  EXPECT_TRUE(result->started);
  EXPECT_EQ(output, "hello wörld\n");
  EXPECT_EQ(result->close_code, 1000u);
  EXPECT_EQ(result->reason.msg_type, "closing");
  EXPECT_EQ(result->reason.message, "exited");
  EXPECT_EQ(result->reason.data, "0");
  EXPECT_EQ(nlohmann::json::parse(server->last().ws_config), config);
}

TEST(WsClient, InvalidConfigCloses1002) {
  auto server = TestServer::on_tcp();
  std::string output;
  bool started = false;
  auto result = Client(settings_for(server->url()))
                    .websocket("/ws/invalid", {{"x", 1}}, collect(output, started));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_FALSE(result->started);
  EXPECT_FALSE(started);
  EXPECT_EQ(result->close_code, 1002u);
  EXPECT_EQ(result->reason.msg_type, "error");
  EXPECT_EQ(result->reason.message, "invalid config");
  EXPECT_EQ(output, "");
}

TEST(WsClient, ForwardsStdin) {
  auto server = TestServer::on_tcp();
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  // "ü" split over the last byte: the client holds the partial sequence until EOF.
  ASSERT_EQ(::write(fds[1], "ping \xc3\xbc\n", 8), 8);
  ::close(fds[1]);
  std::string output;
  bool started = false;
  auto handlers = collect(output, started);
  handlers.forward_stdin = true;
  handlers.stdin_fd = fds[0];
  auto result = Client(settings_for(server->url())).websocket("/ws/echo", {}, handlers);
  ::close(fds[0]);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(output, "ping ü\n");
  EXPECT_EQ(result->close_code, 1000u);
}

TEST(WsClient, DroppedConnectionIsAnError) {
  auto server = TestServer::on_tcp();
  std::string output;
  bool started = false;
  auto result =
      Client(settings_for(server->url())).websocket("/ws/drop", {}, collect(output, started));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "ERROR! Connection closed unexpectedly.");
  EXPECT_TRUE(started);
}

TEST(WsClient, DeclinedUpgradeShowsServerAnswer) {
  auto server = TestServer::on_tcp();
  std::string output;
  bool started = false;
  auto result =
      Client(settings_for(server->url())).websocket("/nowhere", {}, collect(output, started));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().code, kProtocolError);
  EXPECT_EQ(result.error().message, "not found");
}

TEST(WsClient, NothingListening) {
  TempDir dir;
  auto result =
      Client(settings_for("http://" + dir.file("none.sock"))).websocket("/exec/start", {});
  ASSERT_FALSE(result);
  EXPECT_TRUE(result.error().message.starts_with("unable to connect to kleened: "));
}

TEST(WsClient, ContextWritesOutputToItsStream) {
  auto server = TestServer::on_tcp();
  const Settings settings = settings_for(server->url());
  const Client client(settings);
  std::ostringstream out, err;
  out << "before\n";
  const Context ctx{.settings = settings, .client = client, .out = out, .err = err};
  WsHandlers handlers;
  handlers.close_on_signal = false;
  auto result = ctx.websocket("/ws/ok", {{"k", "v"}}, handlers);
  ASSERT_TRUE(result);
  EXPECT_EQ(out.str(), "before\nhello wörld\n");
  EXPECT_EQ(result->reason.message, "exited");

  auto failed = ctx.websocket("/nowhere", {}, handlers);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error(), 1);
  EXPECT_EQ(err.str(), "not found\n");
}

}  // namespace
}  // namespace klee
