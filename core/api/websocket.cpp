#include "api/websocket.hpp"

#include <cstdio>

#include "util/json_body.hpp"

namespace kleene::api {
namespace {

// Length of the UTF-8 sequence starting at text[i], or 0 if it is not valid there.
std::size_t utf8_sequence(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = lead < 0x80           ? 1
                       : (lead >> 5) == 0x6  ? 2
                       : (lead >> 4) == 0xE  ? 3
                       : (lead >> 3) == 0x1E ? 4
                                             : 0;
  if (length == 0 || i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k)
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
  if (length == 2 && lead < 0xC2) return 0;  // overlong
  const uint32_t second = byte(i + (length > 1 ? 1 : 0));
  if (length == 3 && ((lead == 0xE0 && second < 0xA0) || (lead == 0xED && second >= 0xA0)))
    return 0;  // overlong or a surrogate
  if (length == 4 &&
      ((lead == 0xF0 && second < 0x90) || lead > 0xF4 || (lead == 0xF4 && second >= 0x90)))
    return 0;
  return length;
}

// The JSON-escaped form of one UTF-8 character (what nlohmann::json emits).
std::string escape_char(std::string_view character) {
  if (character.size() > 1) return std::string(character);
  const char c = character[0];
  switch (c) {
    case '"':
      return "\\\"";
    case '\\':
      return "\\\\";
    case '\b':
      return "\\b";
    case '\f':
      return "\\f";
    case '\n':
      return "\\n";
    case '\r':
      return "\\r";
    case '\t':
      return "\\t";
    default:
      break;
  }
  if (static_cast<unsigned char>(c) < 0x20) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "\\u%04x", static_cast<unsigned char>(c));
    return buffer;
  }
  return std::string(1, c);
}

// Escape `text` (invalid bytes become U+FFFD) keeping at most `budget` bytes of output,
// never splitting a character or an escape.
std::string escape_within(std::string_view text, std::size_t budget) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = utf8_sequence(text, i);
    const std::string piece =
        length == 0 ? std::string("\xEF\xBF\xBD") : escape_char(text.substr(i, length));
    if (out.size() + piece.size() > budget) break;
    out += piece;
    i += length == 0 ? 1 : length;
  }
  return out;
}

}  // namespace

std::string websocket_message(std::string_view msg_type, std::string_view message,
                              std::string_view data, std::size_t limit) {
  const std::string head =
      "{\"msg_type\":\"" + escape_within(msg_type, limit) + "\",\"message\":\"";
  const std::string middle = "\",\"data\":\"";
  const std::string tail = "\"}";
  const std::size_t fixed = head.size() + middle.size() + tail.size();
  const std::size_t room = limit > fixed ? limit - fixed : 0;
  // Data (an image id, a snapshot) matters more to a client than the prose: keep it whole
  // when it fits and give the message what is left.
  std::string escaped_data = escape_within(data, room);
  std::string escaped_message = escape_within(message, room - escaped_data.size());
  return head + escaped_message + middle + escaped_data + tail;
}

Result<nlohmann::json> WsSession::receive_config(Duration timeout) {
  auto frame = read(timeout);
  if (!frame) {
    if (frame.error().code == ETIMEDOUT) {
      (void)close_invalid("timed out waiting for the configuration frame");
      return make_error(ETIMEDOUT, "timed out waiting for the websocket configuration frame");
    }
    closed_ = true;
    return std::unexpected(frame.error());
  }
  if (!*frame) {
    closed_ = true;
    return make_error(ECONNRESET, "client closed the websocket before sending its configuration");
  }
  auto config = util::parse_json_bounded((*frame)->data);
  if (!config || !config->is_object()) {
    const std::string message = !config ? "invalid configuration: malformed JSON"
                                        : "invalid configuration: expected a JSON object";
    (void)close_invalid(message);
    return make_error(EINVAL, message);
  }
  return std::move(*config);
}

Result<void> WsSession::send_starting(std::string_view data) {
  TRY(write(websocket_message("starting", "", data, SIZE_MAX), false));
  started_ = true;
  return {};
}

Result<void> WsSession::send_output(std::string_view bytes, bool binary) {
  return write(bytes, binary);
}

Result<void> WsSession::close_with(uint16_t code, std::string_view msg_type,
                                   std::string_view message, std::string_view data) {
  if (closed_) return make_error(EPIPE, "websocket already closed");
  closed_ = true;
  return close(code, websocket_message(msg_type, message, data));
}

Result<void> WsSession::close_ok(std::string_view message, std::string_view data) {
  return close_with(kCloseNormal, "closing", message, data);
}

Result<void> WsSession::close_detached(std::string_view message, std::string_view data) {
  return close_with(kCloseGoingAway, "closing", message, data);
}

Result<void> WsSession::close_invalid(std::string_view message) {
  // The protocol reserves 1002 for a bad configuration, before any output.
  if (started_) return make_error(EINVAL, "close_invalid after starting; use close_error");
  return close_with(kCloseProtocolError, "error", message, "");
}

Result<void> WsSession::close_error(std::string_view message, std::string_view data) {
  return close_with(kCloseInternalError, "error", message, data);
}

}  // namespace kleene::api
