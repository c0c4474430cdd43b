// A WsSession whose client is a queue of frames, for handlers tested without a socket. An
// empty queue is a client that stays silent (ETIMEDOUT); close_client() queues a Close.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/websocket.hpp"

namespace kleene::api::test {

class FakeWsSession : public WsSession {
 public:
  FakeWsSession& binary(std::string_view data) {
    frames_.push_back(WsFrame{std::string(data), true});
    return *this;
  }
  FakeWsSession& text(std::string_view data) {
    frames_.push_back(WsFrame{std::string(data), false});
    return *this;
  }
  // `data` in binary frames of at most `frame_size` bytes, then the empty end frame.
  FakeWsSession& stream(std::string_view data, std::size_t frame_size) {
    for (std::size_t at = 0; at < data.size(); at += frame_size)
      binary(data.substr(at, frame_size));
    return binary("");
  }
  FakeWsSession& close_client() {
    frames_.push_back(std::nullopt);
    return *this;
  }
  std::size_t pending() const { return frames_.size(); }

  Result<std::optional<WsFrame>> read(std::optional<Duration> timeout) override {
    if (frames_.empty()) {
      if (timeout) return make_error(ETIMEDOUT, "no websocket frame within the timeout");
      return make_error(ECONNRESET, "fake client has no more frames");
    }
    auto frame = std::move(frames_.front());
    frames_.pop_front();
    return frame;
  }
  Result<void> write(std::string_view data, bool is_binary) override {
    written.push_back(WsFrame{std::string(data), is_binary});
    return {};
  }
  Result<void> close(uint16_t code, std::string_view reason) override {
    closed_ = true;
    close_code = code;
    close_reason = reason;
    return {};
  }

  std::vector<WsFrame> written;
  uint16_t close_code = 0;
  std::string close_reason;

 private:
  std::deque<std::optional<WsFrame>> frames_;
};

}  // namespace kleene::api::test
