// Kleene's WebSocket protocol, server side. A WebSocket handler runs on its own thread and
// uses this blocking API:
//   auto config = TRY(ws.receive_config());   // first frame; 1002 if it is not a JSON object
//   ws.send_starting();                        // {"msg_type":"starting",...}
//   ws.send_output(bytes);                     // raw output frames
//   ws.close_ok("done", image_id);             // Close 1000, reason {"msg_type":"closing",...}
// Errors after starting: close_error (1011). Invalid config: close_invalid (1002, only before
// starting). Detached: close_detached (1001). Every call returns an error once the peer is gone.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace kleene::api {

// Close codes of the protocol.
inline constexpr uint16_t kCloseNormal = 1000;
inline constexpr uint16_t kCloseGoingAway = 1001;  // detached
inline constexpr uint16_t kCloseProtocolError = 1002;
inline constexpr uint16_t kCloseInternalError = 1011;

// The largest close reason RFC 6455 allows (125-byte control payload minus the code).
inline constexpr std::size_t kMaxCloseReason = 123;

// The compact JSON WebSocketMessage {"msg_type","message","data"}; message and data are
// sanitised to valid UTF-8 and, if needed, cut at character boundaries (message first, then
// data) so the JSON stays valid and at most `limit` bytes.
std::string websocket_message(std::string_view msg_type, std::string_view message,
                              std::string_view data, std::size_t limit = kMaxCloseReason);

struct WsFrame {
  std::string data;
  bool binary = false;
};

class WsSession {
 public:
  using Duration = std::chrono::milliseconds;

  virtual ~WsSession() = default;

  // The config frame: a text or binary frame holding a JSON object. On timeout, close or
  // anything that is not a JSON object, the session is closed 1002 and an error returned.
  Result<nlohmann::json> receive_config(Duration timeout = std::chrono::seconds(30));
  Result<void> send_starting(std::string_view data = "");
  Result<void> send_output(std::string_view bytes, bool binary = false);
  Result<void> close_ok(std::string_view message, std::string_view data = "");
  Result<void> close_detached(std::string_view message, std::string_view data = "");
  Result<void> close_invalid(std::string_view message);  // EINVAL once starting was sent
  Result<void> close_error(std::string_view message, std::string_view data = "");

  bool started() const { return started_; }
  bool closed() const { return closed_; }

  // --- transport, implemented by the server ---
  // The next client frame; nullopt when the client closed the connection. With a timeout,
  // ETIMEDOUT leaves the read pending: the next read() continues it (so a handler can poll
  // for stdin between output writes). Thread-safe with respect to write/close.
  virtual Result<std::optional<WsFrame>> read(std::optional<Duration> timeout = std::nullopt) = 0;
  virtual Result<void> write(std::string_view data, bool binary) = 0;
  // Send Close with code and reason (as given; callers keep it within 123 bytes).
  virtual Result<void> close(uint16_t code, std::string_view reason) = 0;

 protected:
  Result<void> close_with(uint16_t code, std::string_view msg_type, std::string_view message,
                          std::string_view data);
  bool started_ = false;
  bool closed_ = false;
};

}  // namespace kleene::api
