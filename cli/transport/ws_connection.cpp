#include "transport/ws_connection.hpp"

#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "options/defaults.hpp"
#include "transport/http_client.hpp"
#include "transport/stream.hpp"

namespace klee::transport {

namespace websocket = boost::beast::websocket;

// What WsConnection needs of a WebSocket stream, whatever the stream type under it.
class WsConnection::Stream {
 public:
  virtual ~Stream() = default;
  virtual kleene::Result<void> open() = 0;
  virtual kleene::Result<HttpResponse> request(const HttpRequest& request, bool& keep) = 0;
  virtual kleene::Result<void> upgrade(std::string_view target,
                                       std::chrono::milliseconds handshake_timeout) = 0;
  // Runs the loop until the frame is written / read.
  virtual error_code write(std::string_view data, bool binary) = 0;
  virtual error_code read(std::string& frame) = 0;
  virtual void async_write(std::string_view data, bool binary,
                           std::function<void(error_code)> done) = 0;
  virtual void async_read(std::function<void(error_code, std::string)> done) = 0;
  virtual void async_close(std::string_view reason) = 0;
  [[nodiscard]] virtual const websocket::close_reason& reason() const = 0;
};

namespace {

template <typename S>
class StreamOf final : public WsConnection::Stream {
 public:
  StreamOf(asio::io_context& ioc, const Endpoint& endpoint) : ioc_(ioc), endpoint_(endpoint) {
    if constexpr (is_tls<S>) {
      ws_.emplace(ioc_, *endpoint.tls);
    } else {
      ws_.emplace(ioc_);
    }
  }

  kleene::Result<void> open() override {
    TRY(establish(ioc_, ws_->next_layer(), endpoint_));
    beast::get_lowest_layer(*ws_).expires_never();
    return {};
  }

  kleene::Result<HttpResponse> request(const HttpRequest& request, bool& keep) override {
    return exchange_on(ioc_, ws_->next_layer(), endpoint_, request, &keep);
  }

  kleene::Result<void> upgrade(std::string_view target,
                               std::chrono::milliseconds handshake_timeout) override {
    ws_->set_option(
        websocket::stream_base::timeout{handshake_timeout, websocket::stream_base::none(), false});
    ws_->set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(boost::beast::http::field::user_agent, "klee/" + std::string(kVersion));
    }));

    websocket::response_type response;
    auto ec = run_step(ioc_, [&](auto h) {
      ws_->async_handshake(response, endpoint_.url.authority(),
                           beast::string_view(target.data(), target.size()), std::move(h));
    });
    if (ec == websocket::error::upgrade_declined) {
      HttpResponse declined{response.result_int(), {}, response.body()};
      return kleene::make_error(kProtocolError, declined.error_message());
    }
    if (ec) return std::unexpected(transport_error(ec, "websocket handshake"));
    return {};
  }

  error_code write(std::string_view data, bool binary) override {
    ws_->binary(binary);
    return run_step(ioc_, [&](auto h) {
      ws_->async_write(asio::buffer(data.data(), data.size()), std::move(h));
    });
  }

  error_code read(std::string& frame) override {
    auto ec = run_step(ioc_, [&](auto h) { ws_->async_read(buffer_, std::move(h)); });
    if (ec) return ec;
    frame = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return {};
  }

  void async_write(std::string_view data, bool binary,
                   std::function<void(error_code)> done) override {
    ws_->binary(binary);
    ws_->async_write(asio::buffer(data.data(), data.size()),
                     [done = std::move(done)](error_code ec, std::size_t) { done(ec); });
  }

  void async_read(std::function<void(error_code, std::string)> done) override {
    ws_->async_read(buffer_, [this, done = std::move(done)](error_code ec, std::size_t) {
      std::string frame;
      if (!ec) {
        frame = beast::buffers_to_string(buffer_.data());
        buffer_.consume(buffer_.size());
      }
      done(ec, std::move(frame));
    });
  }

  // close_reason copies the text (at most 123 bytes, the frame's limit).
  void async_close(std::string_view reason) override {
    ws_->async_close(
        {websocket::close_code::normal, beast::string_view(reason.data(), reason.size())},
        [](error_code) {});
  }

  [[nodiscard]] const websocket::close_reason& reason() const override { return ws_->reason(); }

 private:
  asio::io_context& ioc_;
  const Endpoint& endpoint_;
  std::optional<websocket::stream<S>> ws_;
  beast::flat_buffer buffer_;
};

}  // namespace

WsConnection::WsConnection(const Endpoint& endpoint) : signals_(ioc_) {
  visit_stream_type(endpoint, [&]<typename S>(Tag<S>) {
    stream_ = std::make_unique<StreamOf<S>>(ioc_, endpoint);
  });
}

WsConnection::~WsConnection() = default;

kleene::Result<void> WsConnection::open() {
  if (open_) return {};
  TRY(stream_->open());
  open_ = true;
  return {};
}

kleene::Result<HttpResponse> WsConnection::request(const HttpRequest& request) {
  reusable_ = false;
  TRY(open());
  return stream_->request(request, reusable_);
}

kleene::Result<void> WsConnection::connect(std::string_view target,
                                           std::chrono::milliseconds handshake_timeout) {
  reusable_ = false;
  TRY(open());
  return stream_->upgrade(target, handshake_timeout);
}

error_code WsConnection::start(std::string_view config, std::string& first,
                               const std::function<error_code()>& after_config) {
  if (auto ec = stream_->write(config, /*binary=*/false)) return ec;
  if (after_config) {
    if (auto ec = after_config()) return ec;
  }
  return stream_->read(first);
}

error_code WsConnection::send_binary(std::string_view data) {
  return stream_->write(data, /*binary=*/true);
}

void WsConnection::async_write(std::string_view data, bool binary,
                               std::function<void(error_code)> done) {
  stream_->async_write(data, binary, std::move(done));
}

void WsConnection::async_close_normal(std::string_view reason) {
  stream_->async_close(reason);
}

void WsConnection::read_frames(std::function<void(std::string)> on_frame) {
  on_frame_ = std::move(on_frame);
  read_next();
}

void WsConnection::read_next() {
  stream_->async_read([this](error_code ec, std::string frame) {
    if (ec) {
      read_error_ = ec;
      error_code ignored;
      signals_.cancel(ignored);
      if (auto* in = stdin_descriptor()) in->cancel(ignored);
      ioc_.stop();
      return;
    }
    on_frame_(std::move(frame));
    read_next();
  });
}

bool WsConnection::closed(const error_code& ec) {
  return ec == websocket::error::closed;
}

kleene::Result<WsClose> WsConnection::close(const error_code& ec) const {
  if (!closed(ec)) {
    if (ec == beast::error::timeout) return std::unexpected(transport_error(ec));
    return kleene::make_error(kProtocolError, "ERROR! Connection closed unexpectedly.");
  }
  const auto& reason = stream_->reason();
  WsClose result{.code = reason.code,
                 .raw_reason = std::string(reason.reason.data(), reason.reason.size())};
  result.reason = parse_ws_message(result.raw_reason);
  return result;
}

}  // namespace klee::transport
