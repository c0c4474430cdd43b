// The WebSocket transport behind WsSession: Beast async operations on the connection's
// strand, driven from the handler's own thread: reads through futures, writes queued on the
// strand (internal).
#pragma once

#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "api/dispatch.hpp"
#include "api/server_core.hpp"
#include "api/websocket.hpp"

namespace kleene::api::detail {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

template <class Stream>
class WsTransport : public WsSession,
                    public SessionBase,
                    public std::enable_shared_from_this<WsTransport<Stream>> {
 public:
  // Holds the connection's slot and a WebSocket session's slot until the last operation ends.
  WsTransport(Stream&& stream, ServerCore& core, SlotPtr connection, SlotPtr websocket)
      : SessionBase(core),
        ws_(std::move(stream)),
        connection_slot_(std::move(connection)),
        websocket_slot_(std::move(websocket)) {}

  // Complete the upgrade, then hand the connection to `handler` on its own thread.
  void accept(BeastRequest request, Request api_request, const WsHandler& handler) {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout timeout{};
    timeout.handshake_timeout = core_.options.handshake_timeout;
    timeout.idle_timeout = core_.options.websocket_idle_timeout;
    timeout.keep_alive_pings = true;  // an attached exec may be silent for a long time
    ws_.set_option(timeout);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& response) { response.set(http::field::server, "kleened"); }));
    ws_.read_message_max(core_.options.max_request_body);
    auto self = this->shared_from_this();
    ws_.async_accept(request, [self, api_request = std::move(api_request),
                               &handler](beast::error_code ec) mutable {
      if (ec) {
        spdlog::debug("websocket {}: upgrade failed: {}", api_request.path, ec.message());
        return;
      }
      spdlog::debug("{} websocket {}", api_request.listener, api_request.target);
      if (!self->core_.spawn_ws_thread(self, handler, std::move(api_request))) self->shutdown();
    });
  }

  Result<std::optional<WsFrame>> read(std::optional<Duration> timeout) override {
    std::lock_guard lock(read_mutex_);
    if (!pending_read_) start_read();
    if (timeout && pending_read_->wait_for(*timeout) == std::future_status::timeout)
      return make_error(ETIMEDOUT, "no websocket frame within the timeout");
    auto [ec, frame] = pending_read_->get();
    pending_read_.reset();
    if (ec == websocket::error::closed) return std::optional<WsFrame>();
    if (ec) return make_error(ECONNRESET, "websocket read: " + ec.message());
    return std::optional<WsFrame>(std::move(frame));
  }

  // Frames are queued and written in order on the strand, so the handler goes on while the
  // frame is sent (a hand-off to the I/O thread and back saved per frame). write() waits only
  // while more than kWriteBehind bytes are queued: a client that does not read slows the
  // handler down and never makes the queue grow without bound. A failed write is reported by
  // the writes and the close after it.
  Result<void> write(std::string_view data, bool binary) override {
    std::unique_lock lock(write_mutex_);
    if (closed_) return make_error(EPIPE, "websocket write: the session is closed");
    drained_.wait(lock, [&] { return queued_bytes_ <= kWriteBehind || write_error_; });
    if (write_error_) return make_error(EPIPE, "websocket write: " + write_error_.message());
    queued_bytes_ += data.size();
    net::post(ws_.get_executor(),
              [self = this->shared_from_this(), frame = std::string(data), binary]() mutable {
                self->queue_.push_back({std::move(frame), binary});
                if (!self->writing_) self->write_next();
              });
    return {};
  }

  // Sent after the frames queued before it; waits until the Close is written.
  Result<void> close(uint16_t code, std::string_view reason) override {
    std::unique_lock lock(write_mutex_);
    closed_ = true;
    if (write_error_) return make_error(EPIPE, "websocket close: " + write_error_.message());
    lock.unlock();
    reason = reason.substr(0, std::min(reason.size(), kMaxCloseReason));  // Beast throws beyond
    auto done = std::make_shared<std::promise<beast::error_code>>();
    auto result = done->get_future();
    websocket::close_reason close_reason(static_cast<websocket::close_code>(code),
                                         beast::string_view(reason.data(), reason.size()));
    net::post(ws_.get_executor(), [self = this->shared_from_this(), close_reason, done] {
      self->pending_close_ = PendingClose{close_reason, done};
      if (!self->writing_) self->write_next();
    });
    if (auto ec = result.get()) return make_error(EPIPE, "websocket close: " + ec.message());
    return {};
  }

  void shutdown() override {
    net::post(ws_.get_executor(), [self = this->shared_from_this()] {
      beast::error_code ignored;
      beast::get_lowest_layer(self->ws_).socket().close(ignored);
    });
  }

 private:
  using ReadResult = std::pair<beast::error_code, WsFrame>;

  void start_read() {
    auto done = std::make_shared<std::promise<ReadResult>>();
    pending_read_ = done->get_future();
    net::post(ws_.get_executor(), [self = this->shared_from_this(), done] {
      self->ws_.async_read(self->buffer_, [self, done](beast::error_code ec, std::size_t) {
        WsFrame frame;
        if (!ec) {
          frame.data = beast::buffers_to_string(self->buffer_.data());
          frame.binary = self->ws_.got_binary();
        }
        self->buffer_.clear();
        done->set_value({ec, std::move(frame)});
      });
    });
  }

  static constexpr std::size_t kWriteBehind = std::size_t{1} << 20;

  struct Frame {
    std::string data;
    bool binary = false;
  };
  struct PendingClose {
    websocket::close_reason reason;
    std::shared_ptr<std::promise<beast::error_code>> done;
  };

  // On the strand: the next queued frame, else the pending Close, else nothing to do.
  void write_next() {
    if (!queue_.empty()) {
      writing_ = true;
      ws_.binary(queue_.front().binary);
      ws_.async_write(net::buffer(queue_.front().data),
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->frame_written(ec);
                      });
      return;
    }
    writing_ = false;
    if (!pending_close_) return;
    auto close = std::move(*pending_close_);
    pending_close_.reset();
    {
      std::lock_guard lock(write_mutex_);
      if (write_error_) {
        close.done->set_value(write_error_);
        return;
      }
    }
    writing_ = true;
    ws_.async_close(close.reason,
                    [done = close.done](beast::error_code ec) { done->set_value(ec); });
  }

  // On the strand: a frame's write ended; on an error the frames queued after it are dropped.
  void frame_written(beast::error_code ec) {
    std::size_t released = queue_.front().data.size();
    queue_.pop_front();
    if (ec) {
      for (const auto& frame : queue_)
        released += frame.data.size();
      queue_.clear();
    }
    {
      std::lock_guard lock(write_mutex_);
      queued_bytes_ -= released;
      if (ec && !write_error_) write_error_ = ec;
    }
    drained_.notify_all();
    write_next();
  }

  websocket::stream<Stream> ws_;
  SlotPtr connection_slot_;
  SlotPtr websocket_slot_;
  beast::flat_buffer buffer_;
  std::mutex read_mutex_;
  std::mutex write_mutex_;
  std::condition_variable drained_;
  std::size_t queued_bytes_ = 0;               // with write_mutex_
  beast::error_code write_error_;              // with write_mutex_
  std::deque<Frame> queue_;                    // on the strand
  std::optional<PendingClose> pending_close_;  // on the strand
  bool writing_ = false;                       // on the strand
  std::optional<std::future<ReadResult>> pending_read_;
};

}  // namespace kleene::api::detail
