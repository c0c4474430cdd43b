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
#include <nlohmann/json.hpp>

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

const char* kContainersBody =
    R"([{"id":"c0ffee000001","name":"web","image_id":"aaaaaaaaaaaa","image_name":"busybox",)"
    R"("image_tag":"latest","cmd":["/bin/sh","-c","sleep 1000"],"created":"2020-01-01T00:00:00Z",)"
    R"("restart_policy":"on-startup","running":true,"jid":4242},)"
    R"({"id":"c0ffee000002","name":"old","image_id":"bbbbbbbbbbbb","image_name":"","image_tag":"",)"
    R"("cmd":["/bin/true"],"created":"2020-01-01T00:00:00Z","restart_policy":"no",)"
    R"("running":false,"jid":null}])";

// The fake container API (see test_server.hpp); nullopt for other targets.
std::optional<std::pair<http::status, std::string>> container_route(
    const http::request<http::string_body>& req) {
  const auto target = std::string(req.target());
  const bool post = req.method() == http::verb::post;
  const bool nothere = target.find("nothere") != std::string::npos ||
                       req.body().find("\"nothere\"") != std::string::npos;
  const std::string missing = R"({"message":"no such container"})";
  if (target == "/containers/create" && post) {
    if (nothere) return {{http::status::not_found, R"({"message":"no such image 'nothere'"})"}};
    // The image "taken": every name is in use except those with a number (klee's later tries).
    if (req.body().find("\"taken\"") != std::string::npos) {
      const auto name = nlohmann::json::parse(req.body()).value("name", "");
      if (name.find_first_of("0123456789") == std::string::npos)
        return {{http::status::conflict,
                 R"({"message":"container name ')" + name + R"(' is already in use"})"}};
    }
    return {{http::status::created, R"({"id":"c0ffee000001"})"}};
  }
  if (target == "/networks/connect" && post) return {{http::status::no_content, ""}};
  if (target == "/exec/create" && post) {
    if (nothere) return {{http::status::not_found, missing}};
    return {{http::status::created, R"({"id":"e0000000001"})"}};
  }
  if (target.starts_with("/containers/list")) return {{http::status::ok, kContainersBody}};
  if (target == "/containers/prune" && post) {
    return {{http::status::ok, R"(["c0ffee000002"])"}};
  }
  if (target.starts_with("/exec/") && target.ends_with("stop") && post) {
    return {{http::status::ok, R"({"id":"e0000000001"})"}};
  }
  if (target.starts_with("/containers/")) {
    if (nothere) return {{http::status::not_found, missing}};
    auto id = target.substr(std::string("/containers/").size());
    id = id.substr(0, id.find('/'));
    const auto status = target.ends_with("/update") ? http::status::created : http::status::ok;
    return {{status, R"({"id":")" + id + R"("})"}};
  }
  return std::nullopt;
}

const char* kNetworksBody =
    R"([{"id":"a1b2c3d4e5f6","name":"westnet","type":"bridge","interface":"kleene0",)"
    R"("subnet":"10.13.37.0/24","subnet6":"","gateway":"10.13.37.1","gateway6":"","nat":"",)"
    R"("icc":true,"internal":false},)"
    R"({"id":"0f9e8d7c6b5a","name":"loop","type":"loopback","interface":"kleene1",)"
    R"("subnet":"10.20.0.0/16","subnet6":"fd00::/64","gateway":"","gateway6":"","nat":"",)"
    R"("icc":true,"internal":false}])";

// The fake network API (see test_server.hpp); nullopt for other targets (and for a successful
// POST /networks/connect, which container_route answers).
std::optional<std::pair<http::status, std::string>> network_route(
    const http::request<http::string_body>& req) {
  const auto target = std::string(req.target());
  if (!target.starts_with("/networks/")) return std::nullopt;
  const bool post = req.method() == http::verb::post;
  const bool nothere = target.find("nothere") != std::string::npos ||
                       req.body().find("\"nothere\"") != std::string::npos;
  const std::string no_network = R"({"message":"network not found"})";
  if (target == "/networks/create" && post) {
    if (req.body().find("\"taken\"") != std::string::npos)
      return {{http::status::conflict, R"({"message":"network name is already taken"})"}};
    if (req.body().find("\"boom\"") != std::string::npos)
      return {{http::status::internal_server_error, R"({"message":"boom"})"}};
    return {{http::status::created, R"({"id":"a1b2c3d4e5f6"})"}};
  }
  if (target == "/networks/connect" && post) {
    if (nothere) return {{http::status::not_found, no_network}};
    if (req.body().find("\"full\"") != std::string::npos)
      return {{http::status::conflict, R"({"message":"no more inet IP's left in the network"})"}};
    return std::nullopt;
  }
  if (target == "/networks/list" && req.method() == http::verb::get)
    return {{http::status::ok, kNetworksBody}};
  if (target == "/networks/prune" && post) return {{http::status::ok, R"(["0f9e8d7c6b5a"])"}};
  if (nothere) return {{http::status::not_found, no_network}};
  if (target.find("/disconnect/") != std::string::npos && post)
    return {{http::status::no_content, ""}};
  if (target.ends_with("/inspect") && req.method() == http::verb::get) {
    return {{http::status::ok,
             R"({"network":{"id":"a1b2c3d4e5f6","name":"westnet","type":"bridge"},)"
             R"("network_endpoints":[{"id":"e1","container_id":"c0ffee000001",)"
             R"("network_id":"a1b2c3d4e5f6","ip_address":"10.13.37.2"}]})"}};
  }
  if (req.method() == http::verb::delete_) {
    const auto id = target.substr(std::string("/networks/").size());
    return {{http::status::ok, R"({"id":")" + id + R"("})"}};
  }
  return std::nullopt;
}

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
  } else if (auto net = network_route(req)) {
    res.result(net->first);
    res.body() = net->second;
  } else if (auto fake = container_route(req)) {
    res.result(fake->first);
    res.body() = fake->second;
  } else {
    res.result(http::status::not_found);
    res.set(http::field::content_type, "text/plain");
    res.body() = "not found";
  }
  res.prepare_payload();
  return res;
}

template <typename WS>
void exec_script(WS& ws, beast::flat_buffer& buffer, Recorded& rec, std::mutex& mu) {
  error_code ec;
  auto send = [&](std::string_view text) {
    ws.text(true);
    ws.write(asio::buffer(text.data(), text.size()), ec);
  };
  const auto config = nlohmann::json::parse(rec.ws_config, nullptr, false);
  if (!config.is_object() || !config.value("attach", false)) {
    ws.close({websocket::close_code::going_away,
              R"({"msg_type":"closing","message":"succesfully started execution instance in )"
              R"(detached mode","data":""})"},
             ec);
    return;
  }
  send(R"({"msg_type":"starting","message":"","data":""})");
  send("hello\n");
  for (;;) {
    ws.read(buffer, ec);
    if (ec) return;
    auto frame = beast::buffers_to_string(buffer.data());
    buffer.consume(buffer.size());
    {
      std::lock_guard lock(mu);
      rec.ws_frames.push_back(frame);
    }
    if (frame.empty()) continue;
    if (frame[0] == 0x00) send(frame.substr(1));
    // End of input, or ^D typed on a terminal (raw mode passes it on as a byte).
    if (frame[0] == 0x02 || (frame[0] == 0x00 && frame.find('\x04') != std::string::npos)) break;
  }
  ws.close({websocket::close_code::normal,
            R"({"msg_type":"closing","message":"executable e0000000001 and its container )"
            R"(exited with exit-code 3","data":"3"})"},
           ec);
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
    rec.ws_frames.clear();
  }
  buffer.consume(buffer.size());
  auto send = [&](std::string_view text, bool binary = false) {
    ws.binary(binary);
    ws.write(asio::buffer(text.data(), text.size()), ec);
  };
  if (target == "/exec/start") {
    exec_script(ws, buffer, rec, mu);
  } else if (target == "/ws/invalid") {
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

// One request; false when the connection is done.
template <typename Stream>
bool serve_one(Stream& stream, beast::flat_buffer& buffer, http::request<http::string_body>& req,
               Recorded& rec, std::mutex& mu) {
  error_code ec;
  http::read(stream, buffer, req, ec);
  if (ec) return false;
  const std::string target(req.target());
  {
    std::lock_guard lock(mu);
    rec.method = std::string(req.method_string());
    rec.target = target;
    rec.targets.push_back(target);
    rec.body = req.body();
    rec.host = std::string(req[http::field::host]);
    rec.content_type = std::string(req[http::field::content_type]);
  }
  if (websocket::is_upgrade(req) && (target.starts_with("/ws/") || target == "/exec/start")) {
    websocket::stream<Stream&> ws(stream);
    ws.accept(req, ec);
    if (!ec) ws_script(ws, target, rec, mu);
    return false;
  }
  auto res = route(req);
  res.keep_alive(req.keep_alive() && req.body().find("\"closing\"") == std::string::npos);
  http::write(stream, res, ec);
  return !ec && res.keep_alive();
}

// The requests of one connection: more after an answer when the client asks to keep it (as
// kleened does), except that an exec create for the container "closing" answers
// "Connection: close".
template <typename Stream>
void serve(Stream& stream, Recorded& rec, std::mutex& mu) {
  {
    std::lock_guard lock(mu);
    ++rec.connections;
  }
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    if (!serve_one(stream, buffer, req, rec, mu)) return;
  }
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
