// Kleene's WebSocket messages: `{"msg_type": ..., "message": ..., "data": ...}`, sent as the
// `starting` frame and as the Close frame's reason.
#pragma once

#include <string>
#include <string_view>

namespace klee {

struct WsMessage {
  std::string msg_type;  // "starting", "closing", "error"
  std::string message;
  std::string data;
};

// Never fails: a reason that is not such a JSON object (or is empty) becomes
// {msg_type: "", message: <raw text>, data: ""}, so that whatever the server said is shown.
[[nodiscard]] WsMessage parse_ws_message(std::string_view text);

// Whether `text` is a JSON WebSocketMessage with the given msg_type.
[[nodiscard]] bool is_ws_message(std::string_view text, std::string_view msg_type);

}  // namespace klee
