#include "transport/http_client.hpp"

#include <boost/beast/http.hpp>

#include "options/defaults.hpp"
#include "transport/stream.hpp"
#include "util/json_body.hpp"

namespace klee {

namespace transport {

namespace http = boost::beast::http;

constexpr std::uint64_t kMaxResponseBody = 256ULL * 1024 * 1024;

template <typename S>
kleene::Result<HttpResponse> exchange_on(asio::io_context& ioc, S& stream, const Endpoint& endpoint,
                                         const HttpRequest& request, bool* keep) {
  http::request<http::string_body> req{request.method, request.target, 11};
  req.set(http::field::host, endpoint.url.authority());
  req.set(http::field::user_agent, "klee/" + std::string(kVersion));
  req.set(http::field::accept, "application/json");
  if (!request.body.empty() || request.method == http::verb::post ||
      request.method == http::verb::put) {
    req.set(http::field::content_type, request.content_type);
    req.body() = request.body;
  }
  req.keep_alive(keep != nullptr);
  req.prepare_payload();

  auto& lowest = beast::get_lowest_layer(stream);
  lowest.expires_after(request.timeout);
  auto ec =
      run_step(ioc, [&](auto handler) { http::async_write(stream, req, std::move(handler)); });
  if (ec) return std::unexpected(transport_error(ec, "sending request"));

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  lowest.expires_after(request.timeout);
  ec = run_step(
      ioc, [&](auto handler) { http::async_read(stream, buffer, parser, std::move(handler)); });
  if (ec) return std::unexpected(transport_error(ec, "reading response"));
  lowest.expires_never();

  auto& res = parser.get();
  // Reusable when the server keeps it open and sent nothing past the answer.
  if (keep != nullptr) *keep = res.keep_alive() && buffer.size() == 0;
  HttpResponse out;
  out.status = res.result_int();
  out.content_type = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
  return out;
}

template kleene::Result<HttpResponse> exchange_on<PlainStream>(asio::io_context&, PlainStream&,
                                                               const Endpoint&, const HttpRequest&,
                                                               bool*);
template kleene::Result<HttpResponse> exchange_on<TlsStream>(asio::io_context&, TlsStream&,
                                                             const Endpoint&, const HttpRequest&,
                                                             bool*);

}  // namespace transport

namespace {

using namespace transport;

template <typename S>
kleene::Result<HttpResponse> exchange(const Endpoint& endpoint, const HttpRequest& request) {
  asio::io_context ioc;
  std::optional<S> stream;
  emplace_stream(stream, ioc, endpoint);
  TRY(establish(ioc, *stream, endpoint));
  auto out = TRY(exchange_on(ioc, *stream, endpoint, request, /*keep=*/nullptr));

  auto& lowest = beast::get_lowest_layer(*stream);
  if constexpr (is_tls<S>) {
    // A polite close_notify; the answer is complete, so failures here do not matter.
    lowest.expires_after(std::chrono::seconds(2));
    run_step(ioc, [&](auto handler) { stream->async_shutdown(std::move(handler)); });
  } else {
    error_code ignored;
    lowest.socket().shutdown(asio::socket_base::shutdown_both, ignored);
  }
  return out;
}

}  // namespace

// Responses are parsed with the server's nesting bound (64 levels): klee prints them with
// nlohmann's recursive dump, and a hostile or broken server must not overflow its stack.
kleene::Result<nlohmann::json> HttpResponse::json() const {
  auto parsed = kleene::util::parse_json_bounded(body);
  if (!parsed) {
    return kleene::make_error(
        kProtocolError,
        "Error! Unexpected response received from Kleened "
        "(status " +
            std::to_string(status) +
            "): " + (parsed.error().starts_with("nested") ? parsed.error() : "not JSON"));
  }
  return std::move(*parsed);
}

std::string HttpResponse::error_message() const {
  const auto text_of = [](const nlohmann::json& object, const char* key) -> std::string {
    if (!object.is_object()) return "";
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : "";
  };
  auto parsed = kleene::util::parse_json_bounded(body);
  if (parsed && parsed->is_object()) {
    if (auto message = text_of(*parsed, "message"); !message.empty()) return message;
    if (auto it = parsed->find("errors"); it != parsed->end() && it->is_array()) {
      std::string out;
      for (const auto& e : *it) {
        if (!out.empty()) out += "\n";
        const std::string pointer =
            e.is_object() && e.contains("source") ? text_of(e["source"], "pointer") : std::string();
        std::string message = text_of(e, "message");
        if (message.empty()) message = text_of(e, "title");
        if (message.empty()) message = "invalid value";
        out += pointer.empty() ? message : pointer + ": " + message;
      }
      if (!out.empty()) return out;
    }
  }
  std::string text = body;
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r'))
    text.pop_back();
  if (text.empty())
    return "unrecognized status-code received from kleened: " + std::to_string(status);
  return text;
}

kleene::Result<HttpResponse> http_request(const Endpoint& endpoint, const HttpRequest& request) {
  return transport::visit_stream_type(
      endpoint, [&]<typename S>(transport::Tag<S>) { return exchange<S>(endpoint, request); });
}

}  // namespace klee
