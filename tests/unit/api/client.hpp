// A small synchronous Beast client for the server tests: unix, TCP and TLS, HTTP and WebSocket.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>

namespace kleene::api::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using local = net::local::stream_protocol;

using HttpResponse = http::response<http::string_body>;

inline http::request<http::string_body> make_request(http::verb method, const std::string& target,
                                                     const std::string& body = "",
                                                     bool keep_alive = true) {
  http::request<http::string_body> request{method, target, 11};
  request.set(http::field::host, "localhost");
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
  }
  request.keep_alive(keep_alive);
  request.prepare_payload();
  return request;
}

// Send one request on an open stream and read the response.
template <class Stream>
HttpResponse exchange(Stream& stream, http::request<http::string_body> request) {
  http::write(stream, request);
  beast::flat_buffer buffer;
  HttpResponse response;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(stream, buffer, parser);
  return parser.release();
}

inline local::socket connect_unix(net::io_context& ioc, const std::filesystem::path& path) {
  local::socket socket(ioc);
  socket.connect(local::endpoint(path.string()));
  return socket;
}

inline tcp::socket connect_tcp(net::io_context& ioc, uint16_t port) {
  tcp::socket socket(ioc);
  socket.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  return socket;
}

// "http://127.0.0.1:41234" -> 41234
inline uint16_t port_of(const std::string& url) {
  return static_cast<uint16_t>(std::stoi(url.substr(url.rfind(':') + 1)));
}

struct WsOutcome {
  std::vector<std::pair<std::string, bool>> frames;  // data, binary
  uint16_t code = 0;
  std::string reason;
};

// Open a WebSocket, send `config` as the first frame, collect frames until the server closes.
template <class NextLayer>
WsOutcome run_websocket(NextLayer&& next, const std::string& target, const std::string& config) {
  websocket::stream<std::decay_t<NextLayer>> ws(std::move(next));
  ws.handshake("localhost", target);
  ws.text(true);
  ws.write(net::buffer(config));
  WsOutcome outcome;
  for (;;) {
    beast::flat_buffer buffer;
    beast::error_code ec;
    ws.read(buffer, ec);
    if (ec == websocket::error::closed) break;
    if (ec) throw beast::system_error(ec);
    outcome.frames.emplace_back(beast::buffers_to_string(buffer.data()), ws.got_binary());
  }
  outcome.code = static_cast<uint16_t>(ws.reason().code);
  outcome.reason = std::string(ws.reason().reason.data(), ws.reason().reason.size());
  return outcome;
}

}  // namespace kleene::api::test
