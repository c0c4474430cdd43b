#include "transport/ws_client.hpp"

#include <unistd.h>

#include <array>
#include <csignal>

#include "transport/ws_connection.hpp"

namespace klee {
namespace {

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

class Session {
 public:
  Session(std::unique_ptr<WsConnection> conn, WsHandlers handlers)
      : handlers_(std::move(handlers)), conn_(std::move(conn)) {
    if (!handlers_.on_output) handlers_.on_output = write_stdout;
  }

  kleene::Result<WsResult> run(std::string_view target, std::string_view config) {
    TRY(conn_->connect(target, handlers_.handshake_timeout));
    std::string first;
    if (auto ec = conn_->start(config, first)) return finish(ec);
    if (is_ws_message(first, "starting")) {
      result_.started = true;
      if (handlers_.on_starting) handlers_.on_starting();
    } else {
      handlers_.on_output(first);
    }

    conn_->read_frames([this](const std::string& frame) { handlers_.on_output(frame); });
    if (handlers_.forward_stdin) {
      conn_->open_stdin(handlers_.stdin_fd);
      read_stdin();
    }
    if (handlers_.close_on_signal) {
      auto& signals = conn_->signals();
      signals.add(SIGINT);
      signals.add(SIGTERM);
      signals.async_wait([this](error_code e, int) {
        if (!e) conn_->async_close_normal("interrupted by user");
      });
    }
    return finish(conn_->run());
  }

 private:
  void read_stdin() {
    auto* in = conn_->stdin_descriptor();
    if (in == nullptr) return;
    in->async_read_some(asio::buffer(chunk_), [this](error_code ec, std::size_t n) {
      if (ec) return;  // EOF or cancelled: stop forwarding, keep reading output
      pending_.append(chunk_.data(), n);
      const std::size_t hold = incomplete_utf8_tail(pending_);
      outgoing_ = pending_.substr(0, pending_.size() - hold);
      pending_.erase(0, pending_.size() - hold);
      if (outgoing_.empty()) return read_stdin();
      conn_->async_write(outgoing_, /*binary=*/false, [this](error_code e) {
        if (!e) read_stdin();
      });
    });
  }

  kleene::Result<WsResult> finish(const error_code& ec) {
    auto close = TRY(conn_->close(ec));
    result_.close_code = close.code;
    result_.raw_reason = std::move(close.raw_reason);
    result_.reason = std::move(close.reason);
    return result_;
  }

  WsHandlers handlers_;
  std::unique_ptr<WsConnection> conn_;
  std::array<char, 4096> chunk_{};
  std::string pending_;
  std::string outgoing_;
  WsResult result_;
};

}  // namespace

kleene::Result<WsResult> ws_session(std::unique_ptr<WsConnection> conn, std::string_view target,
                                    std::string_view config_json, WsHandlers handlers) {
  Session session(std::move(conn), std::move(handlers));
  return session.run(target, config_json);
}

}  // namespace klee
