// https listeners with certificates generated at test time by the openssl CLI: server auth,
// and mTLS (tlsverify) refusing clients without a certificate or with another CA's.
#include <gtest/gtest.h>

#include <cstdlib>

#include "api/server.hpp"
#include "api/websocket.hpp"
#include "client.hpp"

namespace kleene::api::test {
namespace {

namespace fs = std::filesystem;

// CA, server (SAN 127.0.0.1/localhost), client, and a client from an unrelated CA.
const char* kMakeCerts = R"(set -e
cd "$1"
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }
ca() { key $1.key; openssl req -x509 -new -key $1.key -out $1.pem -days 2 -subj "/CN=$1" 2>/dev/null; }
leaf() { # name ca ext
  key $1.key
  openssl req -new -key $1.key -out $1.csr -subj "/CN=$1" 2>/dev/null
  printf '%s\n' "$3" > $1.ext
  openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial -out $1.pem -days 2 \
    -extfile $1.ext 2>/dev/null
}
ca kleene-test-ca
ca kleene-other-ca
leaf server kleene-test-ca "subjectAltName=IP:127.0.0.1,DNS:localhost"
leaf client kleene-test-ca "extendedKeyUsage=clientAuth"
leaf stranger kleene-other-ca "extendedKeyUsage=clientAuth"
)";

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char pattern[] = "/tmp/kleene-tls-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    certs_ = pattern;
    const fs::path script = certs_ / "make-certs.sh";
    std::FILE* file = std::fopen(script.c_str(), "w");
    ASSERT_NE(file, nullptr);
    std::fputs(kMakeCerts, file);
    std::fclose(file);
    const std::string command = "/bin/sh " + script.string() + " " + certs_.string();
    ASSERT_EQ(std::system(command.c_str()), 0) << "openssl failed";
  }
  static void TearDownTestSuite() { fs::remove_all(certs_); }

  void SetUp() override {
    router_.get("/ping", [](const Request&) { return Response::json(200, {{"pong", true}}); });
  }
  void TearDown() override {
    if (server_) server_->stop();
  }

  static fs::path cert(const std::string& name) { return certs_ / (name + ".pem"); }
  static fs::path key(const std::string& name) { return certs_ / (name + ".key"); }

  // Start an https listener; returns its URL.
  std::string start(const std::string& address, bool verify) {
    auto socket = config::parse_address(address).value();
    socket.tls_options.cert = cert("server");
    socket.tls_options.key = key("server");
    socket.tls_options.cacert = cert("kleene-test-ca");
    socket.tls_options.verify = verify;
    ServerOptions options;
    options.sockets.push_back(socket);
    server_ = std::make_unique<Server>(router_, options);
    auto started = server_->start();
    EXPECT_TRUE(started) << (started ? "" : started.error().message);
    return server_->listening().at(0);
  }

  // A client context trusting our CA, optionally presenting `identity`'s certificate.
  static std::unique_ptr<ssl::context> client_context(const std::string& identity) {
    auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
    context->load_verify_file(cert("kleene-test-ca").string());
    context->set_verify_mode(ssl::verify_peer);
    if (!identity.empty()) {
      context->use_certificate_chain_file(cert(identity).string());
      context->use_private_key_file(key(identity).string(), ssl::context::pem);
    }
    return context;
  }

  // Handshake + GET /ping over TCP; the status or an exception.
  unsigned ping_tcp(uint16_t port, const std::string& identity) {
    auto context = client_context(identity);
    ssl::stream<tcp::socket> stream(connect_tcp(ioc_, port), *context);
    stream.handshake(ssl::stream_base::client);
    return exchange(stream, make_request(http::verb::get, "/ping")).result_int();
  }

  static inline fs::path certs_;
  Router router_;
  std::unique_ptr<Server> server_;
  net::io_context ioc_;
};

TEST_F(TlsTest, ServesHttpsOnTcp) {
  const auto url = start("https://127.0.0.1:0", false);
  EXPECT_EQ(url.rfind("https://127.0.0.1:", 0), 0u);
  EXPECT_EQ(ping_tcp(port_of(url), ""), 200u);
}

TEST_F(TlsTest, PlainHttpClientGetsNoAnswerFromHttps) {
  const auto url = start("https://127.0.0.1:0", false);
  auto socket = connect_tcp(ioc_, port_of(url));
  EXPECT_ANY_THROW(exchange(socket, make_request(http::verb::get, "/ping")));
}

TEST_F(TlsTest, ServesHttpsOnUnixSocketWithWebSocketUpgrade) {
  char pattern[] = "/tmp/kleene-tls-unix-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  const fs::path dir = pattern;
  router_.websocket("/ws", [](WsSession& session, const Request&) {
    if (session.receive_config() && session.send_starting()) (void)session.close_ok("done");
  });
  const auto url = start("https://" + (dir / "tls.sock").string(), true);
  EXPECT_EQ(url, "https://" + (dir / "tls.sock").string());
  auto context = client_context("client");
  ssl::stream<local::socket> stream(connect_unix(ioc_, dir / "tls.sock"), *context);
  stream.handshake(ssl::stream_base::client);
  EXPECT_EQ(exchange(stream, make_request(http::verb::get, "/ping")).result_int(), 200u);

  beast::ssl_stream<local::socket> ws_stream(connect_unix(ioc_, dir / "tls.sock"), *context);
  ws_stream.handshake(ssl::stream_base::client);
  auto outcome = run_websocket(std::move(ws_stream), "/ws", "{}");
  EXPECT_EQ(outcome.code, 1000);
  server_->stop();
  fs::remove_all(dir);
}

TEST_F(TlsTest, MutualTlsAcceptsOurClient) {
  const auto url = start("https://127.0.0.1:0", true);
  EXPECT_EQ(ping_tcp(port_of(url), "client"), 200u);
}

TEST_F(TlsTest, MutualTlsRefusesClientWithoutCertificate) {
  const auto url = start("https://127.0.0.1:0", true);
  EXPECT_ANY_THROW(ping_tcp(port_of(url), ""));
  EXPECT_EQ(ping_tcp(port_of(url), "client"), 200u);  // and keeps serving
}

TEST_F(TlsTest, MutualTlsRefusesCertificateFromAnotherCa) {
  const auto url = start("https://127.0.0.1:0", true);
  EXPECT_ANY_THROW(ping_tcp(port_of(url), "stranger"));
}

TEST_F(TlsTest, BadKeyIsAnErrorNamingTheFile) {
  auto socket = config::parse_address("https://127.0.0.1:0").value();
  socket.tls_options.cert = cert("server");
  socket.tls_options.key = key("client");  // does not match the certificate
  ServerOptions options;
  options.sockets.push_back(socket);
  Server server(router_, options);
  auto result = server.start();
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find(key("client").string()), std::string::npos)
      << result.error().message;
}

}  // namespace
}  // namespace kleene::api::test
