// The HTTP client against the in-test server: unix socket, TCP, TLS and mutual TLS.
#include <gtest/gtest.h>

#include <sstream>

#include "app.hpp"
#include "test_server.hpp"
#include "test_support.hpp"
#include "transport/client.hpp"

namespace klee {
namespace {

using test::Certs;
using test::ServerOptions;
using test::TempDir;
using test::TestServer;

Settings settings_for(const std::string& host) {
  Settings s;
  s.host = host;
  return s;
}

void expect_version_roundtrip(const Client& client) {
  auto res = client.get("/version");
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->status, 200u);
  auto body = res->json();
  ASSERT_TRUE(body);
  EXPECT_EQ((*body)["name"], "kleened");
}

TEST(HttpClient, UnixSocket) {
  TempDir dir;
  auto server = TestServer::on_unix_socket(dir.file("kleened.sock"));
  Client client(settings_for(server->url()));
  expect_version_roundtrip(client);
  EXPECT_EQ(server->last().method, "GET");
  EXPECT_EQ(server->last().host, "localhost");
}

TEST(HttpClient, Tcp) {
  auto server = TestServer::on_tcp();
  Client client(settings_for(server->url()));
  expect_version_roundtrip(client);
  EXPECT_EQ(server->last().host, "127.0.0.1");
}

TEST(HttpClient, PostsJsonAndKeepsStatuses) {
  auto server = TestServer::on_tcp();
  Client client(settings_for(server->url()));
  auto res = client.post("/echo", nlohmann::json{{"name", "wörld"}});
  ASSERT_TRUE(res) << res.error().message;
  EXPECT_EQ(res->status, 201u);
  EXPECT_EQ(res->body, R"({"name":"wörld"})");
  EXPECT_EQ(server->last().content_type, "application/json");

  res = client.get("/fail");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 500u);
  EXPECT_EQ(res->error_message(), "boom");

  res = client.get("/invalid");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 422u);
  EXPECT_EQ(res->error_message(), "/name: bad name");

  res = client.get("/nowhere");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404u);
  EXPECT_EQ(res->error_message(), "not found");
  EXPECT_FALSE(res->json());
}

// What a broken or hostile server answers is refused, never thrown on or recursed into: klee
// prints responses with nlohmann's recursive dump, and read `errors` entries of any type.
TEST(HttpResponse, HostileBodiesAreRefusedNotCrashedOn) {
  HttpResponse deep{.status = 200,
                    .content_type = "application/json",
                    .body = std::string(1'000'000, '[') + std::string(1'000'000, ']')};
  auto parsed = deep.json();
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message,
            "Error! Unexpected response received from Kleened (status 200): nested deeper than "
            "64 levels");
  HttpResponse garbage{.status = 200, .content_type = "", .body = "<html>"};
  EXPECT_EQ(garbage.json().error().message,
            "Error! Unexpected response received from Kleened (status 200): not JSON");

  HttpResponse odd{.status = 422,
                   .content_type = "application/json",
                   .body = R"({"errors": [1, {"source": 5, "title": "t"}, {"message": 3},
                               {"source": {"pointer": 7}, "message": "m"},
                               {"source": {"pointer": "/p"}, "message": "q"}]})"};
  EXPECT_EQ(odd.error_message(), "invalid value\nt\ninvalid value\nm\n/p: q");
  HttpResponse message{.status = 500, .content_type = "", .body = R"({"message": ["x"]})"};
  EXPECT_EQ(message.error_message(), R"({"message": ["x"]})");
}

TEST(HttpClient, NothingListening) {
  TempDir dir;
  Client unix_client(settings_for("http://" + dir.file("none.sock")));
  auto res = unix_client.get("/version");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, ENOENT);
  EXPECT_TRUE(res.error().message.starts_with("unable to connect to kleened: "))
      << res.error().message;

  // A port that was just free: bind, note the port, close.
  auto server = TestServer::on_tcp();
  const auto url = server->url();
  server.reset();
  Client tcp_client(settings_for(url));
  res = tcp_client.get("/version");
  ASSERT_FALSE(res);
  EXPECT_EQ(res.error().code, ECONNREFUSED);
  EXPECT_EQ(res.error().message, "unable to connect to kleened: Connection refused (" + url + ")");
}

class Tls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    certs_ = new Certs(test::make_certs(*dir_));
  }
  static void TearDownTestSuite() {
    delete certs_;
    delete dir_;
  }
  static ServerOptions server_options(bool mutual) {
    return {.tls = true,
            .cert = certs_->server_cert,
            .key = certs_->server_key,
            .client_ca = mutual ? certs_->ca : ""};
  }
  static inline TempDir* dir_ = nullptr;
  static inline Certs* certs_ = nullptr;
};

TEST_F(Tls, VerifiesServerAgainstCa) {
  auto server = TestServer::on_tcp(server_options(false));
  Settings s = settings_for(server->url());
  s.tlscacert = certs_->ca;
  expect_version_roundtrip(Client(s));
}

TEST_F(Tls, UntrustedServerIsRefusedUnlessVerificationIsOff) {
  auto server = TestServer::on_tcp(server_options(false));
  Settings s = settings_for(server->url());
  s.tlscacert = certs_->other_ca;
  auto res = Client(s).get("/version");
  ASSERT_FALSE(res);
  EXPECT_TRUE(res.error().message.starts_with(
      "unable to connect to kleened: TLS: certificate verify failed"))
      << res.error().message;

  s.tlsverify = false;
  expect_version_roundtrip(Client(s));
}

TEST_F(Tls, ServerNameMustMatch) {
  // Signed by the trusted CA, but issued to "localhost" only; reached as 127.0.0.1.
  auto server = TestServer::on_tcp(
      {.tls = true, .cert = certs_->named_server_cert, .key = certs_->named_server_key});
  Settings s = settings_for(server->url());
  s.tlscacert = certs_->ca;
  auto res = Client(s).get("/version");
  ASSERT_FALSE(res);
  EXPECT_TRUE(res.error().message.starts_with(
      "unable to connect to kleened: TLS: certificate verify failed"))
      << res.error().message;
}

TEST_F(Tls, MutualTls) {
  auto server = TestServer::on_tcp(server_options(true));
  Settings s = settings_for(server->url());
  s.tlscacert = certs_->ca;
  auto without = Client(s).get("/version");
  ASSERT_FALSE(without);
  EXPECT_TRUE(without.error().message.starts_with("unable to connect to kleened:"));

  Settings wrong = s;
  wrong.tlscert = certs_->other_client_cert;
  wrong.tlskey = certs_->other_client_key;
  auto refused = Client(wrong).get("/version");
  ASSERT_FALSE(refused);
  EXPECT_TRUE(refused.error().message.starts_with("unable to connect to kleened:"));

  s.tlscert = certs_->client_cert;
  s.tlskey = certs_->client_key;
  expect_version_roundtrip(Client(s));
}

TEST_F(Tls, OverUnixSocket) {
  TempDir dir;
  auto server = TestServer::on_unix_socket(dir.file("kleened.sock"), server_options(true));
  Settings s = settings_for(server->url());
  ASSERT_TRUE(s.host.starts_with("https:///"));
  s.tlscacert = certs_->ca;
  s.tlscert = certs_->client_cert;
  s.tlskey = certs_->client_key;
  expect_version_roundtrip(Client(s));
}

// A kept connection carries the next request and then the WebSocket upgrade, under TLS too.
TEST_F(Tls, AKeptConnectionCarriesTheNextRequestAndTheUpgrade) {
  auto server = TestServer::on_tcp(server_options(true));
  Settings s = settings_for(server->url());
  s.tlscacert = certs_->ca;
  s.tlscert = certs_->client_cert;
  s.tlskey = certs_->client_key;
  Client client(s);
  for (int i = 0; i < 2; ++i) {
    auto res = client.request({.method = boost::beast::http::verb::post,
                               .target = "/echo",
                               .body = R"({"n":1})",
                               .keep_connection = true});
    ASSERT_TRUE(res) << res.error().message;
    EXPECT_EQ(res->status, 201u);
  }
  WsHandlers handlers;
  std::string output;
  handlers.on_output = [&](std::string_view data) { output += data; };
  auto ws = client.websocket("/ws/ok", nlohmann::json::object(), std::move(handlers));
  ASSERT_TRUE(ws) << ws.error().message;
  EXPECT_EQ(ws->close_code, 1000u);
  EXPECT_EQ(output, "hello wörld\n");
  const auto seen = server->last();
  EXPECT_EQ(seen.connections, 1);
  EXPECT_EQ(seen.targets, (std::vector<std::string>{"/echo", "/echo", "/ws/ok"}));
}

TEST_F(Tls, UnreadableFilesAreReported) {
  Settings s = settings_for("https://127.0.0.1:1");
  s.tlscacert = dir_->file("missing-ca.pem");
  auto res = Client(s).get("/version");
  ASSERT_FALSE(res);
  EXPECT_NE(res.error().message.find("missing-ca.pem"), std::string::npos);
}

// Without keep_connection every request is a connection of its own, and the server is asked
// to close it.
TEST(HttpClient, RequestsThatDoNotKeepTheirConnectionEachHaveOne) {
  auto server = TestServer::on_tcp();
  Client client(settings_for(server->url()));
  expect_version_roundtrip(client);
  expect_version_roundtrip(client);
  EXPECT_EQ(server->last().connections, 2);
}

// The whole command line in-process against the test server.
TEST(Commands, PluginLsAndVersion) {
  TempDir dir;
  auto server = TestServer::on_unix_socket(dir.file("kleened.sock"));
  auto env = test::fake_env({{"KLEE_HOST", server->url()}, {"HOME", "/nonexistent-kleene-home"}});
  std::ostringstream out, err;
  std::vector<std::string> args{"plugin", "list"};
  ASSERT_EQ(run_klee(args, env, out, err), 0) << err.str();
  EXPECT_EQ(out.str(),
            " NAME   KIND      VERSION   ABI   CAPABILITIES                           \n"
            "─────────────────────────────────────────────────────────────────────────\n"
            " vnet   network   0.1.0     1.0   connect_while_running,own_netns,bridge \n"
            " zfs    storage   0.1.0     1.0                                          \n");

  out.str("");
  args = {"--theme", "simple", "plugin", "ls", "--format", "json"};
  ASSERT_EQ(run_klee(args, env, out, err), 0) << err.str();
  EXPECT_EQ(nlohmann::json::parse(out.str())[0]["name"], "vnet");

  out.str("");
  args = {"version"};
  ASSERT_EQ(run_klee(args, env, out, err), 0) << err.str();
  EXPECT_NE(out.str().find("Server:\n Name:        kleened\n Version:     0.1.0\n"),
            std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find(" Kernel:      6.1.0-test\n"), std::string::npos);
}

}  // namespace
}  // namespace klee
