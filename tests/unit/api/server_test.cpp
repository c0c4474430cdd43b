// The API server over real sockets: routing, Kleene's error conventions, limits, keep-alive,
// concurrency while a handler blocks, unix socket hygiene.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <future>

#include "api/context.hpp"
#include "api/server.hpp"
#include "client.hpp"
#include "kleene/plugin/abi.h"

namespace kleene::api::test {
namespace {

namespace fs = std::filesystem;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kleene-api-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    socket_path_ = dir_ / "kleened.sock";
    release_future_ = release_.get_future().share();

    router_.get("/hello/{name}", [](const Request& request) {
      return Response::json(200, {{"name", *request.param("name")},
                                  {"query", request.query},
                                  {"listener", request.listener}});
    });
    router_.post(
        "/echo", [](const Request& request) { return Response::json(200, request.body); },
        RouteOptions{.json_object_body = true});
    router_.post("/raw", [](const Request& request) {
      return Response::json(200, {{"size", request.raw_body.size()}});
    });
    router_.get("/block", [this](const Request&) {
      blocked_.set_value();
      release_future_.wait();
      return Response::json(200, {{"released", true}});
    });
    register_routes(router_, context_);
  }

  void TearDown() override {
    release();
    if (server_) server_->stop();
    fs::remove_all(dir_);
  }

  void start(uint64_t max_body = 8 * 1024 * 1024) {
    ServerOptions options;
    options.sockets.push_back(config::parse_address("http://" + socket_path_.string()).value());
    options.sockets.push_back(config::parse_address("http://127.0.0.1:0").value());
    options.max_request_body = max_body;
    options.max_header_bytes = 8 * 1024;
    server_ = std::make_unique<Server>(router_, options);
    auto started = server_->start();
    ASSERT_TRUE(started) << started.error().message;
    ASSERT_EQ(server_->listening().size(), 2u);
    tcp_port_ = port_of(server_->listening()[1]);
  }

  HttpResponse get(const std::string& target) {
    auto socket = connect_unix(ioc_, socket_path_);
    return exchange(socket, make_request(http::verb::get, target));
  }
  HttpResponse post(const std::string& target, const std::string& body) {
    auto socket = connect_unix(ioc_, socket_path_);
    return exchange(socket, make_request(http::verb::post, target, body));
  }

  void release() {
    if (!released_) {
      released_ = true;
      release_.set_value();
    }
  }

  fs::path dir_;
  fs::path socket_path_;
  ApiContext context_;  // outlives the router's handlers, which keep a pointer to it
  Router router_;
  std::unique_ptr<Server> server_;
  uint16_t tcp_port_ = 0;
  net::io_context ioc_;
  std::promise<void> blocked_;
  std::promise<void> release_;
  std::shared_future<void> release_future_;
  bool released_ = false;
};

nlohmann::json json_of(const HttpResponse& response) {
  return nlohmann::json::parse(response.body());
}

TEST_F(ServerTest, RoutesWithDecodedParamsAndQuery) {
  start();
  auto response = get("/hello/wor%20ld?all=true&name=a+b%21&empty");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(response[http::field::content_type], "application/json");
  auto body = json_of(response);
  EXPECT_EQ(body["name"], "wor ld");
  EXPECT_EQ(body["query"], (nlohmann::json{{"all", "true"}, {"name", "a b!"}, {"empty", ""}}));
  EXPECT_EQ(body["listener"], "http://" + socket_path_.string());
}

TEST_F(ServerTest, ReportsActualTcpPortAndServesOnIt) {
  start();
  EXPECT_NE(tcp_port_, 0);
  EXPECT_EQ(server_->listening()[1], "http://127.0.0.1:" + std::to_string(tcp_port_));
  auto socket = connect_tcp(ioc_, tcp_port_);
  auto response = exchange(socket, make_request(http::verb::get, "/hello/tcp"));
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(json_of(response)["listener"], server_->listening()[1]);
}

TEST_F(ServerTest, UnknownRouteIsPlainTextNotFound) {
  start();
  auto response = get("/no/such/route");
  EXPECT_EQ(response.result_int(), 404);
  EXPECT_EQ(response[http::field::content_type], "text/plain");
  EXPECT_EQ(response.body(), "not found");
}

TEST_F(ServerTest, WrongMethodIs405) {
  start();
  auto socket = connect_unix(ioc_, socket_path_);
  auto response = exchange(socket, make_request(http::verb::delete_, "/hello/x"));
  EXPECT_EQ(response.result_int(), 405);
  EXPECT_EQ(json_of(response), (nlohmann::json{{"message", "method not allowed"}}));
}

TEST_F(ServerTest, MalformedJsonIs422InOpenApiSpexShape) {
  start();
  auto response = post("/echo", "{\"name\": ");
  EXPECT_EQ(response.result_int(), 422);
  auto body = json_of(response);
  ASSERT_EQ(body["errors"].size(), 1u);
  EXPECT_EQ(body["errors"][0]["title"], "Invalid value");
  EXPECT_EQ(body["errors"][0]["source"], (nlohmann::json{{"pointer", "/"}}));
  EXPECT_EQ(body["errors"][0]["message"].get<std::string>().rfind("malformed JSON: ", 0), 0u);

  // A number no double holds is nlohmann's out_of_range, not a parse_error: it ended kleened
  // (tests/fuzz/crashes/api_bodies-number-overflow.bin). Now a 422, and the server lives on.
  response = post("/echo", R"({"cmd": [1e400]})");
  EXPECT_EQ(response.result_int(), 422);
  EXPECT_EQ(
      json_of(response)["errors"][0]["message"].get<std::string>().rfind("malformed JSON: ", 0),
      0u);

  response = post("/echo", "[1, 2]");
  EXPECT_EQ(response.result_int(), 422);
  EXPECT_EQ(json_of(response)["errors"][0]["message"], "Invalid object. Got: array");

  response = post("/echo", "{\"a\": [1]}");
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(json_of(response), (nlohmann::json{{"a", {1}}}));

  // Nesting: nlohmann parses without recursion but copies and dumps with it, so an 8 MiB body
  // of `[` overflowed the stack of the thread answering it. 64 levels pass, 65 are a 422.
  const auto nested = [](std::size_t levels) {
    return "{\"a\":" + std::string(levels - 1, '[') + std::string(levels - 1, ']') + "}";
  };
  EXPECT_EQ(post("/echo", nested(64)).result_int(), 200);
  response = post("/echo", nested(65));
  EXPECT_EQ(response.result_int(), 422);
  EXPECT_EQ(json_of(response)["errors"][0]["message"],
            "malformed JSON: nested deeper than 64 levels");
  response = post("/echo", nested(4'000'000));
  EXPECT_EQ(response.result_int(), 422);
}

TEST_F(ServerTest, OversizeBodyIs413AndCloses) {
  start(1024);
  auto socket = connect_unix(ioc_, socket_path_);
  auto response = exchange(socket, make_request(http::verb::post, "/raw", std::string(4096, 'x')));
  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(json_of(response), (nlohmann::json{{"message", "request body too large"}}));
  EXPECT_FALSE(response.keep_alive());
  // The server closed the connection: the next read sees the end.
  char byte;
  beast::error_code ec;
  socket.read_some(net::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();

  response = post("/raw", '"' + std::string(1022, 'y') + '"');  // exactly the limit is fine
  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(json_of(response)["size"], 1024);
}

TEST_F(ServerTest, OversizeHeaderIs431) {
  start();
  auto socket = connect_unix(ioc_, socket_path_);
  auto request = make_request(http::verb::get, "/hello/x");
  request.set("X-Filler", std::string(16 * 1024, 'h'));
  auto response = exchange(socket, request);
  EXPECT_EQ(response.result_int(), 431);
}

TEST_F(ServerTest, UnixSocketIsMode0600AndRemovedOnStop) {
  start();
  struct stat st {};
  ASSERT_EQ(::stat(socket_path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  server_->stop();
  EXPECT_FALSE(fs::exists(socket_path_));
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  start();
  auto socket = connect_unix(ioc_, socket_path_);
  for (int i = 0; i < 3; ++i) {
    auto response = exchange(socket, make_request(http::verb::get, "/hello/" + std::to_string(i)));
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_TRUE(response.keep_alive());
    EXPECT_EQ(json_of(response)["name"], std::to_string(i));
  }
  auto last = exchange(socket, make_request(http::verb::get, "/hello/end", "", false));
  EXPECT_FALSE(last.keep_alive());
}

TEST_F(ServerTest, FiftyConnectionsServedWhileOneHandlerBlocks) {
  start();
  auto blocked_socket = connect_unix(ioc_, socket_path_);
  http::write(blocked_socket, make_request(http::verb::get, "/block"));
  blocked_.get_future().wait();  // the handler is now blocking a handler thread

  std::vector<tcp::socket> sockets;
  for (int i = 0; i < 50; ++i)
    sockets.push_back(connect_tcp(ioc_, tcp_port_));
  for (int i = 0; i < 50; ++i)
    http::write(sockets[i], make_request(http::verb::get, "/hello/c" + std::to_string(i)));
  for (int i = 0; i < 50; ++i) {
    beast::flat_buffer buffer;
    HttpResponse response;
    http::read(sockets[i], buffer, response);
    EXPECT_EQ(response.result_int(), 200);
    EXPECT_EQ(nlohmann::json::parse(response.body())["name"], "c" + std::to_string(i));
  }
  release();
  beast::flat_buffer buffer;
  HttpResponse response;
  http::read(blocked_socket, buffer, response);
  EXPECT_EQ(json_of(response)["released"], true);
}

TEST_F(ServerTest, KleeneRoutesValidateThenNeedTheStore) {
  start();
  auto response = post("/networks/connect", "{\"container\": \"c\", \"network\": \"n\"}");
  EXPECT_EQ(response.result_int(), 500);
  EXPECT_EQ(json_of(response), (nlohmann::json{{"message", "metadata store is not available"}}));
  response = post("/networks/connect", "\"text\"");
  EXPECT_EQ(response.result_int(), 422);
  response = post("/networks/connect", "{oops");
  EXPECT_EQ(response.result_int(), 422);
  // Container routes validate the body, then need the store (none here).
  response = post("/containers/create", "\"text\"");
  EXPECT_EQ(response.result_int(), 422);
  response = get("/containers/list?all=true");
  EXPECT_EQ(response.result_int(), 500);
  EXPECT_EQ(json_of(response)["message"], "metadata store is not available");
  // Network routes need the store too.
  EXPECT_EQ(get("/networks/abc/inspect").result_int(), 500);
  auto socket = connect_unix(ioc_, socket_path_);
  EXPECT_EQ(exchange(socket, make_request(http::verb::delete_, "/networks/n1")).result_int(), 500);
  EXPECT_EQ(
      exchange(socket, make_request(http::verb::post, "/networks/n/disconnect/c")).result_int(),
      500);
  EXPECT_EQ(
      exchange(socket, make_request(http::verb::get, "/networks/n/disconnect/c")).result_int(),
      405);
  // A WebSocket route reached without an upgrade.
  EXPECT_EQ(get("/exec/start").result_int(), 400);
}

TEST_F(ServerTest, VersionAndPluginListExtensions) {
  start();
  auto response = get("/version");
  ASSERT_EQ(response.result_int(), 200);
  auto body = json_of(response);
  EXPECT_EQ(body["name"], "kleened");
  EXPECT_EQ(body["api_version"], "0.0.1");
  EXPECT_EQ(body["plugin_abi"], std::to_string(KLEENE_PLUGIN_ABI_MAJOR) + "." +
                                    std::to_string(KLEENE_PLUGIN_ABI_MINOR));
  EXPECT_EQ(body["os"], "linux");
  for (const char* key : {"version", "kernel", "arch", "git_commit"})
    EXPECT_TRUE(body[key].is_string() && !body[key].get<std::string>().empty()) << key;
  response = get("/plugins/list");
  ASSERT_EQ(response.result_int(), 200);
  EXPECT_EQ(json_of(response), nlohmann::json::array());
}

TEST_F(ServerTest, StaleSocketIsReplacedLiveOneRefused) {
  // A socket file nobody listens on (a crashed daemon's) is replaced.
  { local::acceptor stale(ioc_, local::endpoint(socket_path_.string())); }
  ASSERT_TRUE(fs::exists(socket_path_));
  start();
  EXPECT_EQ(get("/hello/x").result_int(), 200);

  // A second server on the same path must not steal it.
  ServerOptions options;
  options.sockets.push_back(config::parse_address("http://" + socket_path_.string()).value());
  Server second(router_, options);
  auto result = second.start();
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("another process is listening on " + socket_path_.string()),
            std::string::npos)
      << result.error().message;
  EXPECT_EQ(get("/hello/still").result_int(), 200);
}

TEST_F(ServerTest, BindErrorNamesTheAddress) {
  ServerOptions options;
  options.sockets.push_back(config::parse_address("http://127.0.0.1:0").value());
  options.sockets.push_back(config::parse_address("http:///nonexistent-kleene-dir/x.sock").value());
  Server server(router_, options);
  auto result = server.start();
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("/nonexistent-kleene-dir/x.sock"), std::string::npos);
}

}  // namespace
}  // namespace kleene::api::test
