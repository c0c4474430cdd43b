#include "transport/client.hpp"

namespace klee {

namespace http = boost::beast::http;

kleene::Result<Endpoint> Client::endpoint() const {
  if (!endpoint_) endpoint_ = TRY(make_endpoint(settings_));
  return *endpoint_;
}

kleene::Result<HttpResponse> Client::request(HttpRequest request) const {
  return http_request(TRY(endpoint()), request);
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
  return ws_session(TRY(endpoint()), target, config.dump(), std::move(handlers));
}

}  // namespace klee
