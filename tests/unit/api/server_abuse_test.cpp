// The API server under abuse, over a real unix socket: the connection and WebSocket session
// caps, thousands of idle connections, slow clients against the request deadline, endless or
// oversize WebSocket input. Timeouts are shortened through ServerOptions; every wait is on a
// socket (poll), never a sleep.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include "api/context.hpp"
#include "api/server.hpp"
#include "api/websocket.hpp"
#include "client.hpp"
#include "util/unique_fd.hpp"

namespace kleene::api::test {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

UniqueFd connect_raw(const fs::path& path) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  if (!fd.valid() ||
      ::connect(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0)
    ADD_FAILURE() << "connect " << path << ": " << std::strerror(errno);
  return fd;
}

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Read what arrives until the peer closes (true) or `timeout` passes (false).
bool wait_closed(int fd, milliseconds timeout, std::string* received = nullptr) {
  const auto deadline = Clock::now() + timeout;
  char buffer[4096];
  for (;;) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    pollfd entry{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&entry, 1, static_cast<int>(left.count())) == 0) return false;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return true;  // end of stream or reset
    if (received) received->append(buffer, static_cast<std::size_t>(n));
  }
}

struct RawResponse {
  int status = 0;
  std::string body;
};

// Send `request` on `fd` and read the answer; nullopt when no whole answer arrives within
// `timeout` or the server closes first.
std::optional<RawResponse> exchange_raw(int fd, const std::string& request, milliseconds timeout) {
  if (!send_all(fd, request)) return std::nullopt;
  const auto deadline = Clock::now() + timeout;
  std::string data;
  char buffer[4096];
  for (;;) {
    const auto end = data.find("\r\n\r\n");
    if (end != std::string::npos) {
      const auto at = data.find("Content-Length: ");
      const std::size_t length = at < end ? std::stoul(data.substr(at + 16)) : 0;
      if (data.size() >= end + 4 + length)
        return RawResponse{std::stoi(data.substr(9, 3)), data.substr(end + 4, length)};
    }
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    pollfd entry{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&entry, 1, static_cast<int>(left.count())) == 0)
      return std::nullopt;
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) return std::nullopt;
    data.append(buffer, static_cast<std::size_t>(n));
  }
}

std::optional<RawResponse> roundtrip(int fd, const std::string& target, milliseconds timeout,
                                     bool keep_alive = true) {
  return exchange_raw(fd,
                      "GET " + target + " HTTP/1.1\r\nHost: localhost\r\n" +
                          (keep_alive ? "" : "Connection: close\r\n") + "\r\n",
                      timeout);
}

// A WebSocket upgrade request, raw: Beast 1.74's synchronous handshake drops a declined answer.
std::optional<RawResponse> upgrade(int fd, const std::string& target) {
  return exchange_raw(fd,
                      "GET " + target +
                          " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                          "Connection: upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n",
                      milliseconds(5000));
}

std::size_t thread_count() {
  std::size_t count = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator("/proc/self/task"))
    ++count;
  return count;
}

// The default logger into a ring buffer while the object lives.
class LogCapture {
 public:
  LogCapture()
      : previous_(spdlog::default_logger()),
        sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(1000)) {
    auto logger = std::make_shared<spdlog::logger>("kleene-abuse-test", sink_);
    logger->set_level(spdlog::level::warn);
    logger->set_pattern("%v");
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  std::size_t count(const std::string& text) const {
    std::size_t n = 0;
    for (const auto& line : sink_->last_formatted())
      n += line.find(text) != std::string::npos ? 1 : 0;
    return n;
  }

 private:
  std::shared_ptr<spdlog::logger> previous_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

class ServerAbuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kleene-abuse-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    socket_ = dir_ / "k.sock";
    router_.get("/hello/{name}", [](const Request& request) {
      return Response::json(200, {{"name", *request.param("name")}});
    });
    // Echo frames until "end" or the client goes.
    router_.websocket("/ws/echo", [](WsSession& session, const Request&) {
      if (!session.receive_config()) return;
      (void)session.send_starting();
      for (;;) {
        auto frame = session.read();
        if (!frame || !*frame || (*frame)->data == "end") break;
        (void)session.send_output("echo:" + (*frame)->data);
      }
      if (!session.closed()) (void)session.close_ok("bye");
    });
    register_routes(router_, context_);
    options_.sockets.push_back(config::parse_address("http://" + socket_.string()).value());
  }

  void TearDown() override {
    if (server_) server_->stop();
    fs::remove_all(dir_);
  }

  void start() {
    server_ = std::make_unique<Server>(router_, options_);
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().message;
  }

  // A plain request on a fresh connection, answered 200 within `timeout`.
  void expect_served(const std::string& name, milliseconds timeout = milliseconds(5000)) {
    auto fd = connect_raw(socket_);
    auto response = roundtrip(fd.get(), "/hello/" + name, timeout);
    ASSERT_TRUE(response) << "no answer within " << timeout.count() << " ms";
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(nlohmann::json::parse(response->body)["name"], name);
  }

  using Ws = websocket::stream<local::socket>;
  // A WebSocket on /ws/echo past its config frame and "starting".
  std::unique_ptr<Ws> open_echo() {
    auto ws = std::make_unique<Ws>(connect_unix(ioc_, socket_));
    ws->handshake("localhost", "/ws/echo");
    ws->write(net::buffer(std::string("{}")));
    beast::flat_buffer buffer;
    ws->read(buffer);
    EXPECT_EQ(nlohmann::json::parse(beast::buffers_to_string(buffer.data()))["msg_type"],
              "starting");
    return ws;
  }
  static std::string echo(Ws& ws, const std::string& text) {
    ws.write(net::buffer(text));
    beast::flat_buffer buffer;
    ws.read(buffer);
    return beast::buffers_to_string(buffer.data());
  }

  fs::path dir_;
  fs::path socket_;
  ApiContext context_;  // outlives the router's handlers, which keep a pointer to it
  Router router_;
  ServerOptions options_;
  std::unique_ptr<Server> server_;
  net::io_context ioc_;
};

TEST_F(ServerAbuseTest, ConnectionBeyondTheCapGets503OthersStillServed) {
  LogCapture log;
  options_.max_connections = 8;
  start();
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 8; ++i)
    idle.push_back(connect_raw(socket_));
  // Accepted in order, after the eight: refused at once with an answer, five times over.
  for (int i = 0; i < 5; ++i) {
    auto extra = connect_raw(socket_);
    auto response = roundtrip(extra.get(), "/hello/extra", milliseconds(5000));
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 503);
    EXPECT_EQ(nlohmann::json::parse(response->body),
              (nlohmann::json{{"message", "too many connections"}}));
    EXPECT_TRUE(wait_closed(extra.get(), milliseconds(5000)));
  }
  // The eight open ones are served as usual.
  for (std::size_t i = 0; i < idle.size(); ++i) {
    auto response = roundtrip(idle[i].get(), "/hello/c" + std::to_string(i), milliseconds(5000));
    ASSERT_TRUE(response) << i;
    EXPECT_EQ(response->status, 200);
  }
  // One burst, one warning.
  EXPECT_EQ(log.count("refusing more"), 1u);
  // One closes (the server answers and closes it): a new connection gets its place.
  auto last = roundtrip(idle.back().get(), "/hello/last", milliseconds(5000), false);
  ASSERT_TRUE(last);
  EXPECT_TRUE(wait_closed(idle.back().get(), milliseconds(5000)));
  idle.pop_back();
  // The slot is given back once the session object is gone, just after the close the
  // client saw: retry on 503 for a bounded time.
  std::optional<RawResponse> response;
  for (const auto deadline = Clock::now() + std::chrono::seconds(5); Clock::now() < deadline;) {
    auto fd = connect_raw(socket_);
    response = roundtrip(fd.get(), "/hello/again", milliseconds(5000));
    if (response && response->status != 503) break;
  }
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
  // (5 refused, or more when a retry above came before the slot was given back)
  EXPECT_EQ(log.count("accepting connections again ("), 1u);
}

TEST_F(ServerAbuseTest, ConnectionBeyondTheCapGets503OverTcpToo) {
  options_.max_connections = 1;
  options_.sockets.push_back(config::parse_address("http://127.0.0.1:0").value());
  start();
  const uint16_t port = port_of(server_->listening()[1]);
  auto held = connect_raw(socket_);
  ASSERT_TRUE(roundtrip(held.get(), "/hello/held", milliseconds(5000)));  // it has the place
  // The answer is read before the close (no reset), whether the request came before or after.
  for (int i = 0; i < 3; ++i) {
    UniqueFd tcp(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(tcp.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    auto response = roundtrip(tcp.get(), "/hello/tcp", milliseconds(5000));
    ASSERT_TRUE(response) << i;
    EXPECT_EQ(response->status, 503);
    EXPECT_TRUE(wait_closed(tcp.get(), milliseconds(5000)));
  }
  auto response = roundtrip(held.get(), "/hello/still", milliseconds(5000));
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST_F(ServerAbuseTest, TwoThousandIdleConnectionsCostNoThreadAndOthersAreServed) {
  options_.max_connections = 2100;
  start();
  expect_served("warm-up");  // the first handler thread
  const std::size_t threads = thread_count();
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 2000; ++i) {
    idle.push_back(connect_raw(socket_));
    ASSERT_TRUE(idle.back().valid());
  }
  // Accepted after the 2000: answered within its own timeout.
  const auto start = Clock::now();
  expect_served("after-2000", milliseconds(10000));
  const auto took = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  EXPECT_LE(thread_count(), threads + 1) << "idle connections must not hold threads";
  // Each idle one is still open and served on its turn.
  for (int i : {0, 999, 1999}) {
    auto response = roundtrip(idle[i].get(), "/hello/idle", milliseconds(5000));
    ASSERT_TRUE(response) << i;
    EXPECT_EQ(response->status, 200);
  }
  RecordProperty("after_2000_ms", static_cast<int>(took.count()));
}

TEST_F(ServerAbuseTest, IdleConnectionsCloseAfterTheIdleTimeout) {
  options_.idle_timeout = milliseconds(200);
  start();
  std::vector<UniqueFd> idle;
  for (int i = 0; i < 3; ++i)
    idle.push_back(connect_raw(socket_));
  auto used = connect_raw(socket_);
  ASSERT_TRUE(roundtrip(used.get(), "/hello/x", milliseconds(5000)));  // then idle too
  for (auto& fd : idle)
    EXPECT_TRUE(wait_closed(fd.get(), milliseconds(5000)));
  EXPECT_TRUE(wait_closed(used.get(), milliseconds(5000)));
}

TEST_F(ServerAbuseTest, SlowClientsHitTheDeadlineWithoutBlockingOthers) {
  options_.idle_timeout = milliseconds(500);     // the header's deadline
  options_.request_timeout = milliseconds(500);  // the body's
  start();
  // One byte every 20 ms: each byte is in time, the whole is not; the deadline is absolute.
  auto slow_header = connect_raw(socket_);
  auto slow_body = connect_raw(socket_);
  ASSERT_TRUE(send_all(slow_body.get(),
                       "POST /hello/x HTTP/1.1\r\nHost: l\r\nContent-Length: 100000\r\n\r\n"));
  ASSERT_TRUE(send_all(slow_header.get(), "GET /hello/x HTTP/1.1\r\nHost: l\r\nX-Slow: "));
  std::atomic<bool> done{false};
  std::thread trickle([&] {
    // Pacing of the slow client, not synchronisation: it stops once the server closes.
    for (int i = 0; i < 500 && !done; ++i) {
      const bool header_open = send_all(slow_header.get(), "a");
      const bool body_open = send_all(slow_body.get(), "b");
      if (!header_open && !body_open) break;
      std::this_thread::sleep_for(milliseconds(20));
    }
  });
  const auto start = Clock::now();
  for (int i = 0; i < 20; ++i)
    expect_served("fast" + std::to_string(i), milliseconds(2000));
  const bool header_closed = wait_closed(slow_header.get(), milliseconds(5000));
  const bool body_closed = wait_closed(slow_body.get(), milliseconds(5000));
  const auto took = Clock::now() - start;
  done = true;
  trickle.join();
  EXPECT_TRUE(header_closed);
  EXPECT_TRUE(body_closed);
  // Both went well before the trickle's 10 s.
  EXPECT_LT(took, std::chrono::seconds(5));
}

TEST_F(ServerAbuseTest, OversizeWebSocketMessageCloses1009) {
  options_.max_request_body = 64 * 1024;
  start();
  auto ws = open_echo();
  EXPECT_EQ(echo(*ws, "small"), "echo:small");
  beast::error_code ec;
  ws->write(net::buffer(std::string(64 * 1024 + 1, 'x')), ec);
  beast::flat_buffer buffer;
  ws->read(buffer, ec);
  EXPECT_EQ(ec, websocket::error::closed) << ec.message();
  EXPECT_EQ(ws->reason().code, websocket::close_code::too_big);
  expect_served("after");
}

TEST_F(ServerAbuseTest, EndlessWebSocketInputClosesOnlyThatSession) {
  options_.max_request_body = 64 * 1024;
  start();
  auto endless = open_echo();
  auto other = open_echo();
  EXPECT_EQ(echo(*other, "before"), "echo:before");
  // One message that never ends: fragments until the server gives up on it.
  const std::string chunk(4096, 'z');
  std::size_t sent = 0;
  beast::error_code ec;
  endless->auto_fragment(false);
  while (!ec && sent < 256 * 1024 * 1024) {
    sent += endless->write_some(false, net::buffer(chunk), ec);
  }
  EXPECT_TRUE(ec) << "the server never stopped the endless message";
  // What the socket buffers took beyond the cap, no more.
  EXPECT_LT(sent, 16u * 1024 * 1024);
  EXPECT_EQ(echo(*other, "after"), "echo:after");
  expect_served("after");
}

TEST_F(ServerAbuseTest, WebSocketSessionCapAnswers503BeforeTheUpgrade) {
  LogCapture log;
  options_.max_websocket_sessions = 2;
  start();
  const std::size_t threads = thread_count();
  auto first = open_echo();
  auto second = open_echo();
  EXPECT_LE(thread_count(), threads + 2);
  for (int i = 0; i < 3; ++i) {
    auto third = connect_raw(socket_);
    auto response = upgrade(third.get(), "/ws/echo");
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 503);
    EXPECT_EQ(nlohmann::json::parse(response->body),
              (nlohmann::json{{"message", "too many WebSocket sessions"}}));
  }
  EXPECT_EQ(log.count("refusing more"), 1u);
  EXPECT_EQ(echo(*first, "still"), "echo:still");
  expect_served("http-too");
  // One ends: a new session gets its place once the old one is gone (retry on 503).
  second->write(net::buffer(std::string("end")));
  beast::error_code ec;
  beast::flat_buffer buffer;
  second->read(buffer, ec);  // the close "bye"
  EXPECT_EQ(ec, websocket::error::closed);
  std::unique_ptr<Ws> again;
  for (const auto deadline = Clock::now() + std::chrono::seconds(5); Clock::now() < deadline;) {
    auto ws = std::make_unique<Ws>(connect_unix(ioc_, socket_));
    ws->handshake("localhost", "/ws/echo", ec);
    if (!ec) {
      again = std::move(ws);
      break;
    }
    ASSERT_EQ(ec, websocket::error::upgrade_declined) << ec.message();  // 503 until it is gone
  }
  EXPECT_EQ(log.count("accepting WebSocket sessions again ("), 1u);
  ASSERT_TRUE(again);
  again->write(net::buffer(std::string("{}")));
  buffer.clear();
  again->read(buffer);
  EXPECT_EQ(echo(*again, "new"), "echo:new");
}

}  // namespace
}  // namespace kleene::api::test
