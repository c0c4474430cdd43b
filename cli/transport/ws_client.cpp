#include "transport/ws_client.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <optional>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "options/defaults.hpp"
#include "transport/http_client.hpp"
#include "transport/stream.hpp"

namespace klee {
namespace {

namespace websocket = boost::beast::websocket;
using namespace transport;

void write_stdout(std::string_view data) {
  while (!data.empty()) {
    auto n = ::write(STDOUT_FILENO, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// Bytes at the end of `data` that start a UTF-8 sequence not yet complete.
std::size_t incomplete_utf8_tail(std::string_view data) {
  for (std::size_t back = 1; back <= std::min<std::size_t>(3, data.size()); ++back) {
    const auto c = static_cast<unsigned char>(data[data.size() - back]);
    if ((c & 0xC0) == 0x80) continue;  // continuation byte, keep looking for the lead
    const std::size_t need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

// Reads stdin through a duplicate so asio may make it non-blocking, and puts the shared
// file status flags back afterwards (the shell owns that terminal).
class StdinReader {
 public:
  StdinReader(asio::io_context& ioc, int fd) : flags_(::fcntl(fd, F_GETFL)), fd_(fd) {
    int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
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

template <typename S>
class Session {
 public:
  Session(const Endpoint& endpoint, WsHandlers handlers)
      : endpoint_(endpoint), handlers_(std::move(handlers)), signals_(ioc_) {
    if (!handlers_.on_output) handlers_.on_output = write_stdout;
    if constexpr (is_tls<S>) {
      ws_.emplace(ioc_, *endpoint.tls);
    } else {
      ws_.emplace(ioc_);
    }
  }

  kleene::Result<WsResult> run(std::string_view target, std::string_view config) {
    TRY(establish(ioc_, ws_->next_layer(), endpoint_));
    beast::get_lowest_layer(*ws_).expires_never();
    ws_->set_option(websocket::stream_base::timeout{handlers_.handshake_timeout,
                                                    websocket::stream_base::none(), false});
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

    ws_->text(true);
    ec = run_step(ioc_, [&](auto h) { ws_->async_write(asio::buffer(config), std::move(h)); });
    if (ec) return finish(ec);

    ec = run_step(ioc_, [&](auto h) { ws_->async_read(buffer_, std::move(h)); });
    if (ec) return finish(ec);
    const auto first = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    if (is_ws_message(first, "starting")) {
      result_.started = true;
      if (handlers_.on_starting) handlers_.on_starting();
    } else {
      handlers_.on_output(first);
    }

    read_frames();
    if (handlers_.forward_stdin) {
      stdin_.emplace(ioc_, handlers_.stdin_fd);
      read_stdin();
    }
    if (handlers_.close_on_signal) {
      signals_.add(SIGINT);
      signals_.add(SIGTERM);
      signals_.async_wait([this](error_code e, int) {
        if (!e)
          ws_->async_close({websocket::close_code::normal, "interrupted by user"},
                           [](error_code) {});
      });
    }
    ioc_.restart();
    ioc_.run();
    return finish(read_error_);
  }

 private:
  void read_frames() {
    ws_->async_read(buffer_, [this](error_code ec, std::size_t) {
      if (ec) {
        read_error_ = ec;
        error_code ignored;
        signals_.cancel(ignored);
        if (stdin_ && stdin_->get()) stdin_->get()->cancel(ignored);
        ioc_.stop();  // the session is over; nothing else left running matters
        return;
      }
      handlers_.on_output(beast::buffers_to_string(buffer_.data()));
      buffer_.consume(buffer_.size());
      read_frames();
    });
  }

  void read_stdin() {
    auto* in = stdin_->get();
    if (in == nullptr) return;
    in->async_read_some(asio::buffer(chunk_), [this](error_code ec, std::size_t n) {
      if (ec) return;  // EOF or cancelled: stop forwarding, keep reading output
      pending_.append(chunk_.data(), n);
      const std::size_t hold = incomplete_utf8_tail(pending_);
      outgoing_ = pending_.substr(0, pending_.size() - hold);
      pending_.erase(0, pending_.size() - hold);
      if (outgoing_.empty()) return read_stdin();
      ws_->async_write(asio::buffer(outgoing_), [this](error_code e, std::size_t) {
        if (!e) read_stdin();
      });
    });
  }

  kleene::Result<WsResult> finish(const error_code& ec) {
    if (ec != websocket::error::closed) {
      if (ec == beast::error::timeout) return std::unexpected(transport_error(ec));
      return kleene::make_error(kProtocolError, "ERROR! Connection closed unexpectedly.");
    }
    const auto& reason = ws_->reason();
    result_.close_code = reason.code;
    result_.raw_reason = std::string(reason.reason.data(), reason.reason.size());
    result_.reason = parse_ws_message(result_.raw_reason);
    return result_;
  }

  const Endpoint& endpoint_;
  WsHandlers handlers_;
  asio::io_context ioc_;
  std::optional<websocket::stream<S>> ws_;
  asio::signal_set signals_;
  std::optional<StdinReader> stdin_;
  beast::flat_buffer buffer_;
  std::array<char, 4096> chunk_{};
  std::string pending_;
  std::string outgoing_;
  error_code read_error_;
  WsResult result_;
};

}  // namespace

kleene::Result<WsResult> ws_session(const Endpoint& endpoint, std::string_view target,
                                    std::string_view config_json, WsHandlers handlers) {
  return visit_stream_type(endpoint, [&]<typename S>(Tag<S>) {
    Session<S> session(endpoint, std::move(handlers));
    return session.run(target, config_json);
  });
}

}  // namespace klee
