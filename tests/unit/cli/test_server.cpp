#include "test_server.hpp"

#include <sys/socket.h>

#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace klee::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using error_code = boost::system::error_code;

const char* kVersionBody =
    R"({"name":"kleened","version":"0.1.0","api_version":"0.0.1","plugin_abi":"1.0","os":"linux",)"
    R"("kernel":"6.1.0-test","arch":"x86_64","git_commit":"abc1234"})";
const char* kPluginsBody =
    R"([{"name":"vnet","kind":"network","version":"0.1.0","abi":"1.0",)"
    R"("capabilities":["connect_while_running","own_netns","bridge"],"path":"/x/net-vnet.so"},)"
    R"({"name":"zfs","kind":"storage","version":"0.1.0","abi":"1.0","capabilities":[],)"
    R"("path":"/x/storage-zfs.so"}])";

http::response<http::string_body> route(const http::request<http::string_body>& req) {
  http::response<http::string_body> res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  const auto target = std::string(req.target());
  if (target == "/version" && req.method() == http::verb::get) {
    res.body() = kVersionBody;
  } else if (target == "/plugins/list" && req.method() == http::verb::get) {
    res.body() = kPluginsBody;
  } else if (target == "/fail") {
    res.result(http::status::internal_server_error);
    res.body() = R"({"message":"boom"})";
  } else if (target == "/invalid") {
    res.result(http::status::unprocessable_entity);
    res.body() =
        R"({"errors":[{"title":"Invalid value","source":{"pointer":"/name"},"message":"bad name"}]})";
  } else if (target == "/echo" && req.method() == http::verb::post) {
    res.result(http::status::created);
    res.body() = req.body();
  } else {
    res.result(http::status::not_found);
    res.set(http::field::content_type, "text/plain");
    res.body() = "not found";
  }
  res.prepare_payload();
  return res;
}

template <typename WS>
void ws_script(WS& ws, const std::string& target, Recorded& rec, std::mutex& mu) {
  error_code ec;
  beast::flat_buffer buffer;
  ws.read(buffer, ec);
  if (ec) return;
  {
    std::lock_guard lock(mu);
    rec.ws_config = beast::buffers_to_string(buffer.data());
  }
  buffer.consume(buffer.size());
  auto send = [&](std::string_view text, bool binary = false) {
    ws.binary(binary);
    ws.write(asio::buffer(text.data(), text.size()), ec);
  };
  if (target == "/ws/invalid") {
    ws.close({websocket::close_code::protocol_error,
              R"({"msg_type":"error","message":"invalid config","data":""})"},
             ec);
  } else {
    send(R"({"msg_type":"starting","message":"","data":""})");
    if (target == "/ws/ok") {
      send("hello ");
      send("wörld\n", true);
    } else if (target == "/ws/echo") {
      ws.read(buffer, ec);
      if (ec) return;
      send(beast::buffers_to_string(buffer.data()));
    } else if (target == "/ws/drop") {
      return;  // the connection is cut when the socket goes away
    }
    ws.close(
        {websocket::close_code::normal, R"({"msg_type":"closing","message":"exited","data":"0"})"},
        ec);
  }
  // Wait for the client's Close reply so the handshake completes cleanly.
  while (!ec)
    ws.read(buffer, ec);
}

template <typename Stream>
void serve(Stream& stream, Recorded& rec, std::mutex& mu) {
  error_code ec;
  beast::flat_buffer buffer;
  http::request<http::string_body> req;
  http::read(stream, buffer, req, ec);
  if (ec) return;
  const std::string target(req.target());
  {
    std::lock_guard lock(mu);
    rec.method = std::string(req.method_string());
    rec.target = target;
    rec.body = req.body();
    rec.host = std::string(req[http::field::host]);
    rec.content_type = std::string(req[http::field::content_type]);
  }
  if (websocket::is_upgrade(req) && target.starts_with("/ws/")) {
    websocket::stream<Stream&> ws(stream);
    ws.accept(req, ec);
    if (!ec) ws_script(ws, target, rec, mu);
    return;
  }
  auto res = route(req);
  http::write(stream, res, ec);
}

template <typename Protocol>
class Server final : public TestServer {
 public:
  Server(typename Protocol::endpoint endpoint, ServerOptions options, std::string url_prefix)
      : options_(std::move(options)), acceptor_(ioc_, endpoint) {
    if (options_.tls) {
      tls_.emplace(asio::ssl::context::tls_server);
      tls_->use_certificate_chain_file(options_.cert);
      tls_->use_private_key_file(options_.key, asio::ssl::context::pem);
      if (!options_.client_ca.empty()) {
        tls_->load_verify_file(options_.client_ca);
        tls_->set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
      }
    }
    if constexpr (std::is_same_v<Protocol, asio::ip::tcp>) {
      url_ = url_prefix + "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
    } else {
      url_ = url_prefix + endpoint.path();
    }
    thread_ = std::thread([this] { loop(); });
  }

  ~Server() override {
    // shutdown() on a listening socket wakes the blocking accept() on Linux.
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    thread_.join();
  }

  std::string url() const override { return url_; }
  Recorded last() const override {
    std::lock_guard lock(mu_);
    return rec_;
  }

 private:
  void loop() {
    for (;;) {
      typename Protocol::socket socket(ioc_);
      error_code ec;
      acceptor_.accept(socket, ec);
      if (ec) return;
      if (!tls_) {
        serve(socket, rec_, mu_);
        socket.shutdown(asio::socket_base::shutdown_both, ec);
        continue;
      }
      asio::ssl::stream<typename Protocol::socket> stream(std::move(socket), *tls_);
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (ec) continue;
      serve(stream, rec_, mu_);
      stream.shutdown(ec);
    }
  }

  ServerOptions options_;
  asio::io_context ioc_;
  std::optional<asio::ssl::context> tls_;
  typename Protocol::acceptor acceptor_;
  std::string url_;
  mutable std::mutex mu_;
  Recorded rec_;
  std::thread thread_;
};

}  // namespace

std::unique_ptr<TestServer> TestServer::on_unix_socket(const std::string& path,
                                                       ServerOptions options) {
  const std::string prefix = options.tls ? "https://" : "http://";
  return std::make_unique<Server<asio::local::stream_protocol>>(
      asio::local::stream_protocol::endpoint(path), std::move(options), prefix);
}

std::unique_ptr<TestServer> TestServer::on_tcp(ServerOptions options) {
  const std::string prefix = options.tls ? "https://" : "http://";
  return std::make_unique<Server<asio::ip::tcp>>(
      asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0), std::move(options), prefix);
}

}  // namespace klee::test
