// One HTTP/1.1 connection over a plain or TLS stream: read with limits and timeouts, run the
// handler on the handler pool, write, keep alive; upgrade to WebSocket (internal).
#pragma once

#include <memory>
#include <optional>

#include <spdlog/spdlog.h>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>

#include "api/dispatch.hpp"
#include "api/server_core.hpp"
#include "api/ws_transport.hpp"

namespace kleene::api::detail {

namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;

template <class T>
inline constexpr bool kIsTls = false;
template <class T>
inline constexpr bool kIsTls<beast::ssl_stream<T>> = true;

template <class Stream>
class HttpSession : public SessionBase, public std::enable_shared_from_this<HttpSession<Stream>> {
 public:
  using Socket = typename beast::lowest_layer_type<Stream>::socket_type;

  HttpSession(Socket&& socket, ServerCore& core, std::string listener,
              SlotPtr slot) requires(!kIsTls<Stream>)
      : SessionBase(core),
        stream_(std::move(socket)),
        listener_(std::move(listener)),
        slot_(std::move(slot)) {}
  HttpSession(Socket&& socket, ssl::context& context, ServerCore& core, std::string listener,
              SlotPtr slot) requires(kIsTls<Stream>)
      : SessionBase(core),
        stream_(std::move(socket), context),
        listener_(std::move(listener)),
        slot_(std::move(slot)) {}

  void run() {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->begin(); });
  }

  void shutdown() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      self->closing_ = true;
      // An idle connection goes now; one with a request in flight after its response.
      if (!self->busy_) self->lowest().socket().close(self->ignored_);
    });
  }

 private:
  auto& lowest() { return beast::get_lowest_layer(stream_); }

  void begin() {
    if constexpr (kIsTls<Stream>) {
      lowest().expires_after(core_.options.handshake_timeout);
      stream_.async_handshake(
          ssl::stream_base::server, [self = this->shared_from_this()](beast::error_code ec) {
            if (ec) {
              spdlog::debug("{}: TLS handshake failed: {}", self->listener_, ec.message());
              return;
            }
            self->read();
          });
    } else {
      read();
    }
  }

  void read() {
    if (closing_ || core_.stopping) return close();
    parser_.emplace();
    parser_->header_limit(core_.options.max_header_bytes);
    parser_->body_limit(core_.options.max_request_body);
    lowest().expires_after(core_.options.idle_timeout);
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    lowest().expires_after(core_.options.request_timeout);
    if (beast::websocket::is_upgrade(parser_->get()) && try_upgrade()) return;
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      // curl and others wait for this before sending a larger body.
      auto go_on = std::make_shared<http::response<http::empty_body>>(http::status::continue_, 11);
      http::async_write(
          stream_, *go_on,
          [self = this->shared_from_this(), go_on](beast::error_code write_ec, std::size_t) {
            if (write_ec) return self->close();
            self->read_body();
          });
      return;
    }
    read_body();
  }

  void read_body() {
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code read_ec, std::size_t) {
                       self->on_body(read_ec);
                     });
  }

  void on_read_error(beast::error_code ec) {
    if (ec == http::error::body_limit)
      return reply_and_close(Response::message(413, "request body too large"), true);
    if (ec == http::error::header_limit)
      return reply_and_close(Response::message(431, "request header too large"), false);
    const bool parse_error =
        ec.category() == http::make_error_code(http::error::bad_method).category();
    if (parse_error && ec != http::error::end_of_stream && ec != http::error::partial_message)
      return reply_and_close(Response::message(400, "bad request: " + ec.message()), false);
    close();  // end of stream, timeout, reset: nothing to answer
  }

  void on_body(beast::error_code ec) {
    if (ec) return on_read_error(ec);
    busy_ = true;
    lowest().expires_never();
    core_.handler_started();
    // Reads and row-only changes go first (handler_pool.hpp; WebSocket routes never come here).
    const auto& head = parser_->get();
    const auto lane =
        lane_of(std::string_view(head.method_string()), std::string_view(head.target()));
    core_.handler_pool.post(
        [self = this->shared_from_this(), request = parser_->release()]() mutable {
          auto response = dispatch(self->core_.router, std::move(request), self->listener_);
          net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
            self->write(std::move(response));
          });
          self->core_.handler_finished();
        },
        lane);
  }

  void write(BeastResponse&& response) {
    if (closing_ || core_.stopping) response.keep_alive(false);
    auto shared = std::make_shared<BeastResponse>(std::move(response));
    lowest().expires_after(core_.options.request_timeout);
    http::async_write(stream_, *shared,
                      [self = this->shared_from_this(), shared](beast::error_code ec, std::size_t) {
                        self->busy_ = false;
                        if (ec || !shared->keep_alive()) return self->close();
                        self->read();
                      });
  }

  // For 413: the client may still be sending the body; read and drop it for a while so it
  // sees the answer instead of a reset.
  void reply_and_close(Response&& response, bool drain) {
    auto shared = std::make_shared<BeastResponse>(to_beast(std::move(response), 11, false));
    lowest().expires_after(core_.options.handshake_timeout);
    http::async_write(
        stream_, *shared,
        [self = this->shared_from_this(), shared, drain](beast::error_code ec, std::size_t) {
          if (ec || !drain) return self->close();
          if constexpr (!kIsTls<Stream>)
            self->lowest().socket().shutdown(net::socket_base::shutdown_send, self->ignored_);
          self->drained_ = 0;
          self->drain();
        });
  }

  void drain() {
    constexpr std::size_t kMaxDrain = 64 * 1024 * 1024;
    stream_.async_read_some(net::buffer(drain_buffer_),
                            [self = this->shared_from_this()](beast::error_code ec, std::size_t n) {
                              self->drained_ += n;
                              if (ec || self->drained_ > kMaxDrain) return self->close();
                              self->drain();
                            });
  }

  // Hand the connection over to a WebSocket route; false when the path has none (the
  // request is then answered like any other: 404, 405, ...).
  bool try_upgrade() {
    BeastRequest& request = parser_->get();
    Request api_request = to_request(BeastRequest(request), listener_);
    auto match = core_.router.match(api_request.method, api_request.path);
    if (match.outcome != Router::Outcome::found || !match.route->ws_handler) return false;
    api_request.params = std::move(match.params);
    // Each session holds a thread for its life: refuse before the upgrade, in HTTP.
    auto websocket_slot = core_.acquire(Slot::Kind::websocket);
    if (!websocket_slot) {
      reply_and_close(Response::message(503, "too many WebSocket sessions"), false);
      return true;
    }
    auto transport = std::make_shared<WsTransport<Stream>>(
        std::move(stream_), core_, std::move(slot_), std::move(websocket_slot));
    core_.track(transport);
    transport->accept(parser_->release(), std::move(api_request), match.route->ws_handler);
    return true;
  }

  void close() {
    if constexpr (kIsTls<Stream>) {
      if (!tls_closing_ && lowest().socket().is_open()) {
        tls_closing_ = true;
        lowest().expires_after(std::chrono::seconds(5));
        stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
          self->lowest().socket().close(self->ignored_);
        });
        return;
      }
    } else {
      lowest().socket().shutdown(net::socket_base::shutdown_send, ignored_);
    }
    lowest().socket().close(ignored_);
  }

  Stream stream_;
  std::string listener_;
  SlotPtr slot_;  // under max_connections; handed to the WebSocket on upgrade
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::array<char, 16384> drain_buffer_{};
  std::size_t drained_ = 0;
  bool busy_ = false;
  bool closing_ = false;
  bool tls_closing_ = false;
  beast::error_code ignored_;
};

}  // namespace kleene::api::detail

namespace kleene::api::detail {

// Plain or TLS; unix and TCP connections alike (a generic socket: each session type is
// compiled once, in session_plain.cpp and session_tls.cpp).
using SessionStream = beast::basic_stream<boost::asio::generic::stream_protocol>;

template <class Stream, class... TlsContext>
void start_session_of(ServerCore& core, boost::asio::generic::stream_protocol::socket&& socket,
                      const std::string& listener, SlotPtr slot, TlsContext&... tls) {
  auto session = std::make_shared<HttpSession<Stream>>(std::move(socket), tls..., core, listener,
                                                       std::move(slot));
  core.track(session);
  session->run();
}

}  // namespace kleene::api::detail
