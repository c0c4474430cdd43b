// Internal to klee: the connection of one Kleene WebSocket session, shared by ws_session
// (transport/ws_client.cpp) and the attached /exec/start session (commands/exec_attach.cpp):
// connect and upgrade, send the config frame and read the answer, loop over the output frames,
// and turn the end of the connection into its Close code and reason. What a session does with
// stdin, signals and the terminal is its own.
#pragma once

#include <fcntl.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "options/defaults.hpp"
#include "transport/close_reason.hpp"
#include "transport/http_client.hpp"
#include "transport/stream.hpp"

namespace klee::transport {

namespace websocket = boost::beast::websocket;

// Reads stdin through a duplicate so asio may make it non-blocking, and puts the shared
// file status flags back afterwards (the shell owns that terminal).
class StdinReader {
 public:
  StdinReader(asio::io_context& ioc, int fd) : flags_(::fcntl(fd, F_GETFL)), fd_(fd) {
    const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (dup >= 0) descriptor_.emplace(ioc, dup);
  }
  ~StdinReader() {
    if (descriptor_) {
      error_code ignored;
      descriptor_->close(ignored);
    }
    if (flags_ >= 0) ::fcntl(fd_, F_SETFL, flags_);
  }
  StdinReader(const StdinReader&) = delete;
  StdinReader& operator=(const StdinReader&) = delete;

  asio::posix::stream_descriptor* get() { return descriptor_ ? &*descriptor_ : nullptr; }

 private:
  int flags_;
  int fd_;
  std::optional<asio::posix::stream_descriptor> descriptor_;
};

// How a session's connection ended with a Close frame.
struct WsClose {
  unsigned code = 0;
  std::string raw_reason;
  WsMessage reason;  // raw_reason, parsed
};

template <typename S>
class WsConnection {
 public:
  explicit WsConnection(const Endpoint& endpoint) : endpoint_(endpoint), signals_(ioc_) {
    if constexpr (is_tls<S>) {
      ws_.emplace(ioc_, *endpoint.tls);
    } else {
      ws_.emplace(ioc_);
    }
  }

  asio::io_context& ioc() { return ioc_; }
  websocket::stream<S>& ws() { return *ws_; }
  asio::signal_set& signals() { return signals_; }

  // Connects and upgrades to `target` (klee's User-Agent, `handshake_timeout` until the server
  // answers, none afterwards). A declined upgrade is an error with the server's message.
  kleene::Result<void> connect(std::string_view target,
                               std::chrono::milliseconds handshake_timeout) {
    TRY(establish(ioc_, ws_->next_layer(), endpoint_));
    beast::get_lowest_layer(*ws_).expires_never();
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

  // Sends `config` as a text frame and reads the server's first frame into `first`. An error
  // code when the connection ended before (close() says how).
  // `after_config` runs between the two (a build context upload sends its frames there).
  error_code start(std::string_view config, std::string& first,
                   const std::function<error_code()>& after_config = {}) {
    ws_->text(true);
    auto ec = run_step(ioc_, [&](auto h) { ws_->async_write(asio::buffer(config), std::move(h)); });
    if (ec) return ec;
    if (after_config) {
      ec = after_config();
      if (ec) return ec;
    }
    ec = run_step(ioc_, [&](auto h) { ws_->async_read(buffer_, std::move(h)); });
    if (ec) return ec;
    first = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    return {};
  }

  // One binary frame, written before anything is read (a build context upload).
  error_code send_binary(std::string_view data) {
    ws_->binary(true);
    auto ec = run_step(ioc_, [&](auto h) {
      ws_->async_write(asio::buffer(data.data(), data.size()), std::move(h));
    });
    ws_->text(true);
    return ec;
  }

  // stdin_fd for the session to read, through a StdinReader; null when it cannot be read.
  asio::posix::stream_descriptor* open_stdin(int stdin_fd) {
    stdin_.emplace(ioc_, stdin_fd);
    return stdin_->get();
  }
  asio::posix::stream_descriptor* stdin_descriptor() { return stdin_ ? stdin_->get() : nullptr; }

  // Hands each frame to `on_frame` until the connection ends; then cancels the signal and
  // stdin waits and stops the loop (the session is over; nothing else left running matters).
  void read_frames(std::function<void(std::string)> on_frame) {
    on_frame_ = std::move(on_frame);
    read_next();
  }

  // Runs the session's asynchronous work; returns why the connection ended.
  error_code run() {
    ioc_.restart();
    ioc_.run();
    return read_error_;
  }

  // The Close that ended the connection with `ec`, or the error when it ended without one.
  kleene::Result<WsClose> close(const error_code& ec) const {
    if (ec != websocket::error::closed) {
      if (ec == beast::error::timeout) return std::unexpected(transport_error(ec));
      return kleene::make_error(kProtocolError, "ERROR! Connection closed unexpectedly.");
    }
    const auto& reason = ws_->reason();
    WsClose result{.code = reason.code,
                   .raw_reason = std::string(reason.reason.data(), reason.reason.size())};
    result.reason = parse_ws_message(result.raw_reason);
    return result;
  }

 private:
  void read_next() {
    ws_->async_read(buffer_, [this](error_code ec, std::size_t) {
      if (ec) {
        read_error_ = ec;
        error_code ignored;
        signals_.cancel(ignored);
        if (auto* in = stdin_descriptor()) in->cancel(ignored);
        ioc_.stop();
        return;
      }
      on_frame_(beast::buffers_to_string(buffer_.data()));
      buffer_.consume(buffer_.size());
      read_next();
    });
  }

  const Endpoint& endpoint_;
  asio::io_context ioc_;
  std::optional<websocket::stream<S>> ws_;
  asio::signal_set signals_;
  std::optional<StdinReader> stdin_;
  beast::flat_buffer buffer_;
  std::function<void(std::string)> on_frame_;
  error_code read_error_;
};

}  // namespace klee::transport
