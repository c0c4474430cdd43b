// An in-memory WsSession (core/api/websocket.hpp) for the harnesses: read() plays a script of
// client frames, closes and timeouts; write() and close() are recorded. What the server's
// Beast transport would do on the wire is not under test here, only what the handlers make of
// the frames.
#pragma once

#include <cerrno>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/websocket.hpp"

namespace kleene::fuzz {

class FakeWs : public api::WsSession {
 public:
  enum class Kind { frame, closed, timeout, reset };
  struct Step {
    Kind kind = Kind::frame;
    api::WsFrame frame;
  };

  void push_frame(std::string data, bool binary) {
    steps_.push_back({Kind::frame, api::WsFrame{std::move(data), binary}});
  }
  void push(Kind kind) { steps_.push_back({kind, {}}); }

  // The script ends with the client closing the connection.
  Result<std::optional<api::WsFrame>> read(std::optional<Duration>) override {
    ++reads_;
    if (steps_.empty()) return std::optional<api::WsFrame>();
    Step step = std::move(steps_.front());
    steps_.pop_front();
    switch (step.kind) {
      case Kind::frame:
        return std::optional<api::WsFrame>(std::move(step.frame));
      case Kind::closed:
        return std::optional<api::WsFrame>();
      case Kind::timeout:
        return make_error(ETIMEDOUT, "no websocket frame within the timeout");
      case Kind::reset:
        break;
    }
    return make_error(ECONNRESET, "websocket read: connection reset");
  }

  Result<void> write(std::string_view data, bool binary) override {
    if (close_code_) return make_error(EPIPE, "websocket write: closed");
    written_.emplace_back(std::string(data), binary);
    return {};
  }

  Result<void> close(std::uint16_t code, std::string_view reason) override {
    if (close_code_) return make_error(EPIPE, "websocket close: closed twice");
    close_code_ = code;
    close_reason_ = std::string(reason);
    return {};
  }

  const std::optional<std::uint16_t>& close_code() const { return close_code_; }
  const std::string& close_reason() const { return close_reason_; }
  const std::vector<std::pair<std::string, bool>>& written() const { return written_; }
  std::size_t reads() const { return reads_; }
  std::size_t pending() const { return steps_.size(); }

 private:
  std::deque<Step> steps_;
  std::vector<std::pair<std::string, bool>> written_;
  std::optional<std::uint16_t> close_code_;
  std::string close_reason_;
  std::size_t reads_ = 0;
};

}  // namespace kleene::fuzz
