#include "transport/close_reason.hpp"

#include <nlohmann/json.hpp>

#include "util/json_body.hpp"

namespace klee {
namespace {

std::string field(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

// Frames are parsed with the server's nesting bound: field() dumps what is not a string.
WsMessage parse_ws_message(std::string_view text) {
  auto parsed = kleene::util::parse_json_bounded(text);
  if (!parsed || !parsed->is_object() || !parsed->contains("msg_type")) {
    return {.msg_type = "", .message = std::string(text), .data = ""};
  }
  return {.msg_type = field(*parsed, "msg_type"),
          .message = field(*parsed, "message"),
          .data = field(*parsed, "data")};
}

bool is_ws_message(std::string_view text, std::string_view msg_type) {
  return !msg_type.empty() && parse_ws_message(text).msg_type == msg_type;
}

}  // namespace klee
