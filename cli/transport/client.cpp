#include "transport/client.hpp"

#include "transport/ws_connection.hpp"

namespace klee {

namespace http = boost::beast::http;

Client::Client(Settings settings) : settings_(std::move(settings)) {}

Client::~Client() = default;

kleene::Result<Endpoint> Client::endpoint() const {
  if (!endpoint_) endpoint_ = TRY(make_endpoint(settings_));
  return *endpoint_;
}

kleene::Result<std::unique_ptr<transport::WsConnection>> Client::connection() const {
  if (kept_) return std::move(kept_);
  TRY(endpoint());
  return std::make_unique<transport::WsConnection>(*endpoint_);
}

// A request that keeps its connection, or follows one that did, goes over a WsConnection (the
// one kept, or a new one): the next request or session needs no connect. Any other is one
// connection of its own (http_request).
kleene::Result<HttpResponse> Client::request(HttpRequest request) const {
  if (!request.keep_connection && !kept_) return http_request(TRY(endpoint()), request);
  auto conn = TRY(connection());
  auto response = TRY(conn->request(request));
  if (request.keep_connection && conn->reusable()) kept_ = std::move(conn);
  return response;
}

kleene::Result<HttpResponse> Client::get(std::string target) const {
  return request({.method = http::verb::get, .target = std::move(target)});
}

kleene::Result<HttpResponse> Client::post(std::string target, const nlohmann::json& body) const {
  return request({.method = http::verb::post, .target = std::move(target), .body = body.dump()});
}

kleene::Result<HttpResponse> Client::del(std::string target) const {
  return request({.method = http::verb::delete_, .target = std::move(target)});
}

kleene::Result<WsResult> Client::websocket(std::string_view target, const nlohmann::json& config,
                                           WsHandlers handlers) const {
  return ws_session(TRY(connection()), target, config.dump(), std::move(handlers));
}

}  // namespace klee
