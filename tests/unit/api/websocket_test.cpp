// Kleene's WebSocket protocol over a real server: config frame, starting, output, close codes
// and reasons; and the 123-byte reason limit.
#include <algorithm>
#include <future>
#include <optional>
#include <string_view>

#include <gtest/gtest.h>

#include "api/context.hpp"
#include "api/server.hpp"
#include "api/websocket.hpp"
#include "client.hpp"

namespace kleene::api::test {
namespace {

namespace fs = std::filesystem;

bool valid_utf8(const std::string& text) {
  try {
    (void)nlohmann::json(text).dump();
    return true;
  } catch (const nlohmann::json::type_error&) {
    return false;
  }
}

TEST(WebSocketMessage, FitsAndStaysValidJson) {
  EXPECT_EQ(websocket_message("closing", "done", "abc"),
            R"({"msg_type":"closing","message":"done","data":"abc"})");
  const std::string long_message(300, 'm');
  auto reason = websocket_message("error", long_message, "");
  EXPECT_LE(reason.size(), kMaxCloseReason);
  EXPECT_EQ(reason.size(), kMaxCloseReason);
  auto parsed = nlohmann::json::parse(reason);
  EXPECT_EQ(parsed["msg_type"], "error");
  EXPECT_EQ(parsed["message"].get<std::string>(),
            std::string(parsed["message"].get<std::string>().size(), 'm'));
}

TEST(WebSocketMessage, KeepsDataWholeWhenItFits) {
  const std::string id = "0123456789ab";
  auto parsed = nlohmann::json::parse(websocket_message("closing", std::string(200, 'x'), id));
  EXPECT_EQ(parsed["data"], id);
}

TEST(WebSocketMessage, CutsMultibyteAndEscapesSafely) {
  // Every cut point: the result must be valid JSON with valid UTF-8, within the limit.
  const std::string snowmen = "\xE2\x98\x83\"\\\n\x01" + std::string("\xF0\x9F\x98\x80");
  std::string message;
  for (int i = 0; i < 30; ++i)
    message += snowmen;
  // 43 bytes is the JSON with both fields empty.
  for (std::size_t limit = 43; limit <= 140; ++limit) {
    auto reason = websocket_message("error", message, message, limit);
    ASSERT_LE(reason.size(), limit) << limit;
    nlohmann::json parsed;
    ASSERT_NO_THROW(parsed = nlohmann::json::parse(reason)) << reason;
    EXPECT_TRUE(valid_utf8(parsed["message"].get<std::string>()));
    EXPECT_TRUE(valid_utf8(parsed["data"].get<std::string>()));
  }
  // Invalid input bytes are replaced, never passed on.
  auto parsed = nlohmann::json::parse(websocket_message("error", "bad\xFF\xC3", ""));
  EXPECT_EQ(parsed["message"], "bad\xEF\xBF\xBD\xEF\xBF\xBD");
}

class WebSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kleene-ws-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    router_.websocket("/ws/run", [](WsSession& session, const Request& request) {
      auto config = session.receive_config();
      if (!config) return;
      if (config->value("invalid", false)) {
        (void)session.close_invalid("invalid config: " + request.query_param("why").value_or(""));
        return;
      }
      (void)session.send_starting();
      (void)session.send_output("line 1\n");
      (void)session.send_output(std::string("\x00\x01\x02", 3), true);
      if (config->value("detach", false)) {
        (void)session.close_detached("detached", "");
        return;
      }
      if (config->value("fail", false)) {
        (void)session.close_error(std::string(500, 'e'));
        return;
      }
      (void)session.close_ok("executable finished with exit-code 0", config->value("data", ""));
    });
    router_.websocket("/ws/echo", [](WsSession& session, const Request&) {
      if (!session.receive_config()) return;
      (void)session.send_starting();
      for (;;) {  // echo client frames (stdin later) until the client says "end"
        auto frame = session.read(std::chrono::seconds(10));
        if (!frame || !*frame || (*frame)->data == "end") break;
        (void)session.send_output("echo:" + (*frame)->data);
      }
      (void)session.close_ok("bye");
    });
    // Frames 0..n-1 of `size` bytes each (config {"frames": n, "size": size}), then 1000.
    router_.websocket("/ws/flood", [](WsSession& session, const Request&) {
      auto config = session.receive_config();
      if (!config) return;
      const std::string filler(config->value("size", 1024), 'x');
      const int frames = config->value("frames", 0);
      for (int i = 0; i < frames; ++i) {
        if (!session.send_output(std::to_string(i) + ":" + filler)) return;
      }
      (void)session.close_ok("flooded");
    });
    // Writes until a write fails (the client left); says how many bytes it wrote by then.
    router_.websocket("/ws/until-failure", [this](WsSession& session, const Request&) {
      if (!session.receive_config()) return;
      (void)session.send_starting();
      const std::string chunk(64 * 1024, 'y');
      std::size_t written = 0;
      while (written < (std::size_t{256} << 20) && session.send_output(chunk))
        written += chunk.size();
      const bool closed = !session.close_ok("late");
      failed_after_.set_value({written, closed});
    });
    router_.websocket("/ws/throws",
                      [](WsSession&, const Request&) { throw std::runtime_error("boom"); });
    register_routes(router_, context_);
    start_server(ServerOptions{});
  }
  void start_server(ServerOptions options) {
    if (server_) server_->stop();
    options.sockets.push_back(
        config::parse_address("http://" + (dir_ / "ws.sock").string()).value());
    server_ = std::make_unique<Server>(router_, options);
    ASSERT_TRUE(server_->start());
  }
  void TearDown() override {
    server_->stop();
    fs::remove_all(dir_);
  }

  // A server whose WebSocket idle timeout is `idle`, and a client of /ws/echo past its config.
  websocket::stream<local::socket> echo_with_idle_timeout(std::chrono::milliseconds idle) {
    ServerOptions options;
    options.websocket_idle_timeout = idle;
    start_server(options);
    websocket::stream<local::socket> ws(connect_unix(ioc_, dir_ / "ws.sock"));
    ws.handshake("localhost", "/ws/echo");
    ws.write(net::buffer(std::string("{}")));
    return ws;
  }

  WsOutcome run(const std::string& target, const std::string& config) {
    return run_websocket(connect_unix(ioc_, dir_ / "ws.sock"), target, config);
  }

  fs::path dir_;
  ApiContext context_;  // outlives the router's handlers, which keep a pointer to it
  Router router_;
  std::unique_ptr<Server> server_;
  net::io_context ioc_;
  std::promise<std::pair<std::size_t, bool>> failed_after_;  // /ws/until-failure
};

TEST_F(WebSocketTest, ConfigStartingOutputCloseOk) {
  auto outcome = run("/ws/run", R"({"data":"0123456789ab"})");
  ASSERT_EQ(outcome.frames.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(outcome.frames[0].first),
            (nlohmann::json{{"msg_type", "starting"}, {"message", ""}, {"data", ""}}));
  EXPECT_EQ(outcome.frames[1], std::make_pair(std::string("line 1\n"), false));
  EXPECT_EQ(outcome.frames[2], std::make_pair(std::string("\x00\x01\x02", 3), true));
  EXPECT_EQ(outcome.code, 1000);
  EXPECT_EQ(nlohmann::json::parse(outcome.reason),
            (nlohmann::json{{"msg_type", "closing"},
                            {"message", "executable finished with exit-code 0"},
                            {"data", "0123456789ab"}}));
}

TEST_F(WebSocketTest, InvalidConfigCloses1002) {
  auto outcome = run("/ws/run?why=bad%20field", R"({"invalid":true})");
  EXPECT_TRUE(outcome.frames.empty());
  EXPECT_EQ(outcome.code, 1002);
  EXPECT_EQ(nlohmann::json::parse(outcome.reason),
            (nlohmann::json{
                {"msg_type", "error"}, {"message", "invalid config: bad field"}, {"data", ""}}));
  outcome = run("/ws/run", "not json");
  EXPECT_EQ(outcome.code, 1002);
  EXPECT_EQ(nlohmann::json::parse(outcome.reason)["message"],
            "invalid configuration: malformed JSON");
  // Nested beyond 64 levels (nlohmann copies recursively): refused like malformed JSON.
  outcome = run("/ws/run", R"({"data":)" + std::string(100, '[') + std::string(100, ']') + "}");
  EXPECT_EQ(outcome.code, 1002);
  EXPECT_EQ(nlohmann::json::parse(outcome.reason)["message"],
            "invalid configuration: malformed JSON");
}

TEST_F(WebSocketTest, DetachedCloses1001ErrorCloses1011WithinLimit) {
  auto outcome = run("/ws/run", R"({"detach":true})");
  EXPECT_EQ(outcome.code, 1001);
  outcome = run("/ws/run", R"({"fail":true})");
  EXPECT_EQ(outcome.code, 1011);
  EXPECT_LE(outcome.reason.size(), 123u);
  auto reason = nlohmann::json::parse(outcome.reason);
  EXPECT_EQ(reason["msg_type"], "error");
  EXPECT_FALSE(reason["message"].get<std::string>().empty());
}

TEST_F(WebSocketTest, ReadsClientFrames) {
  websocket::stream<local::socket> ws(connect_unix(ioc_, dir_ / "ws.sock"));
  ws.handshake("localhost", "/ws/echo");
  ws.write(net::buffer(std::string("{}")));
  beast::flat_buffer buffer;
  ws.read(buffer);  // starting
  buffer.clear();
  ws.write(net::buffer(std::string("hello")));
  ws.read(buffer);
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), "echo:hello");
  ws.write(net::buffer(std::string("end")));
  beast::error_code ec;
  buffer.clear();
  ws.read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed);
  EXPECT_EQ(ws.reason().code, 1000);
}

// Writes are queued (the handler does not wait for each frame to be sent), in order, and a
// handler that writes more than the queue holds (1 MiB) waits for it instead of failing.
TEST_F(WebSocketTest, QueuedWritesArriveInOrderThenTheClose) {
  const int frames = 3000;  // 3 MiB of 1 KiB frames
  auto outcome = run("/ws/flood", R"({"frames": 3000, "size": 1024})");
  ASSERT_EQ(outcome.frames.size(), static_cast<std::size_t>(frames));
  for (int i = 0; i < frames; ++i) {
    const auto& data = outcome.frames[static_cast<std::size_t>(i)].first;
    ASSERT_EQ(data.substr(0, data.find(':')), std::to_string(i));
    ASSERT_EQ(data.size(), std::to_string(i).size() + 1 + 1024);
  }
  EXPECT_EQ(outcome.code, 1000);
  EXPECT_NE(outcome.reason.find("flooded"), std::string::npos) << outcome.reason;
}

// A client that goes away makes the writes after it fail, and the close too: the handler
// learns it within what the queue and the socket hold, not after all it meant to write.
TEST_F(WebSocketTest, WritesFailOnceTheClientLeft) {
  auto result = failed_after_.get_future();
  {
    websocket::stream<local::socket> ws(connect_unix(ioc_, dir_ / "ws.sock"));
    ws.handshake("localhost", "/ws/until-failure");
    ws.write(net::buffer(std::string("{}")));
    beast::flat_buffer buffer;
    ws.read(buffer);  // starting
    beast::error_code ignored;
    beast::get_lowest_layer(ws).shutdown(net::socket_base::shutdown_both, ignored);
    beast::get_lowest_layer(ws).close(ignored);
  }
  ASSERT_EQ(result.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  const auto [written, close_failed] = result.get();
  EXPECT_LT(written, std::size_t{64} << 20);
  EXPECT_TRUE(close_failed);
}

// The frames a server sent, from the raw bytes (server frames are unmasked): opcodes in order.
std::vector<int> server_opcodes(std::string_view bytes) {
  std::vector<int> opcodes;
  std::size_t at = 0;
  while (at + 2 <= bytes.size()) {
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(bytes[at + i]); };
    std::size_t length = byte(1) & 0x7f;
    std::size_t header = 2;
    if (length == 126) {
      if (at + 4 > bytes.size()) break;
      length = (std::size_t{byte(2)} << 8) | byte(3);
      header = 4;
    } else if (length == 127) {
      break;  // no frame of ours is that long
    }
    if (at + header + length > bytes.size()) break;
    opcodes.push_back(byte(0) & 0x0f);
    at += header + length;
  }
  return opcodes;
}

// A peer that stops answering goes after websocket_idle_timeout: the server pings it at half
// the timeout (keep-alive pings: an attached exec may be silent for long), gets no pong (this
// client never reads through the WebSocket layer, so nothing answers), and closes the
// connection; the handler's read fails then, not after its own 10 s.
TEST_F(WebSocketTest, IdleTimeoutDropsAPeerThatDoesNotAnswerPings) {
  auto ws = echo_with_idle_timeout(std::chrono::milliseconds(400));
  const auto start = std::chrono::steady_clock::now();
  std::string bytes;
  beast::error_code ec;
  for (char chunk[512]; !ec;) {
    const std::size_t n = ws.next_layer().read_some(net::buffer(chunk), ec);
    bytes.append(chunk, n);
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(ec, net::error::eof) << ec.message();
  EXPECT_GE(elapsed, std::chrono::milliseconds(400));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  const auto opcodes = server_opcodes(bytes);
  ASSERT_FALSE(opcodes.empty());
  EXPECT_EQ(opcodes.front(), 0x1);  // starting
  EXPECT_NE(std::find(opcodes.begin(), opcodes.end(), 0x9), opcodes.end()) << "no ping";
}

// A peer that answers pings stays connected through silences of several idle timeouts.
TEST_F(WebSocketTest, IdleTimeoutKeepsAPeerThatAnswersPings) {
  auto ws = echo_with_idle_timeout(std::chrono::milliseconds(300));
  beast::flat_buffer buffer;
  ws.read(buffer);  // starting
  buffer.clear();
  int pings = 0;
  ws.control_callback([&](websocket::frame_type kind, beast::string_view) {
    if (kind == websocket::frame_type::ping) ++pings;
  });
  // Read (which answers pings) through 1.2 s of silence: four idle timeouts.
  std::optional<beast::error_code> read_result;
  ws.async_read(buffer, [&](beast::error_code ec, std::size_t) { read_result = ec; });
  ioc_.run_for(std::chrono::milliseconds(1200));
  EXPECT_FALSE(read_result.has_value()) << read_result->message();
  EXPECT_GE(pings, 2);
  // Async like the read it runs beside (Beast takes one read and one write at a time).
  const std::string hello = "hello";
  std::optional<beast::error_code> write_result;
  ws.async_write(net::buffer(hello), [&](beast::error_code ec, std::size_t) { write_result = ec; });
  ioc_.restart();
  ioc_.run_for(std::chrono::seconds(10));  // returns once both are done
  ASSERT_TRUE(write_result.has_value());
  EXPECT_FALSE(*write_result) << write_result->message();
  ASSERT_TRUE(read_result.has_value());
  EXPECT_FALSE(*read_result) << read_result->message();
  EXPECT_EQ(beast::buffers_to_string(buffer.data()), "echo:hello");
  ws.control_callback();
  ws.write(net::buffer(std::string("end")));
}

TEST_F(WebSocketTest, HandlerCrashCloses1011EmptyReason) {
  auto outcome = run("/ws/throws", "{}");
  EXPECT_EQ(outcome.code, 1011);
  EXPECT_EQ(outcome.reason, "");
}

TEST_F(WebSocketTest, ImageBuildValidatesThenNeedsTheStore) {
  EXPECT_EQ(run("/images/build", "[]").code, 1002);
  auto invalid = run("/images/build", R"({"context":"/x"})");
  EXPECT_EQ(invalid.code, 1002);
  EXPECT_EQ(nlohmann::json::parse(invalid.reason)["message"],
            "invalid parameters: Missing field: container_config");
  invalid = run("/images/build", R"({"context":"/x","container_config":{},"quiet":"yes"})");
  EXPECT_EQ(invalid.code, 1002);
  EXPECT_EQ(nlohmann::json::parse(invalid.reason)["message"],
            "invalid parameters: quiet: Invalid boolean");
  invalid = run("/images/build", R"({"context":"/x","container_config":{},"tag":"-bad"})");
  EXPECT_EQ(invalid.code, 1002);
  auto outcome = run("/images/build", R"({"context":"/x","container_config":{}})");
  EXPECT_TRUE(outcome.frames.empty());
  EXPECT_EQ(outcome.code, 1011);
  EXPECT_EQ(nlohmann::json::parse(outcome.reason)["message"], "metadata store is not available");
}

TEST_F(WebSocketTest, ExecStartValidatesThenNeedsTheStore) {
  EXPECT_EQ(run("/exec/start", "[]").code, 1002);
  auto invalid = run("/exec/start", R"({"exec_id":"x","attach":true})");
  EXPECT_EQ(invalid.code, 1002);
  EXPECT_EQ(nlohmann::json::parse(invalid.reason)["message"],
            "invalid parameters: Missing field: start_container");
  auto outcome = run("/exec/start", R"({"exec_id":"x","attach":true,"start_container":true})");
  EXPECT_EQ(outcome.code, 1011);
  EXPECT_EQ(nlohmann::json::parse(outcome.reason)["message"], "metadata store is not available");
}

}  // namespace
}  // namespace kleene::api::test
