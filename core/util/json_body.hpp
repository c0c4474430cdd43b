// Reading API request bodies the way Kleene's OpenApiSpex validation reports problems: an error
// names the field by JSON pointer ("/name") and says what was wrong ("Missing field: name",
// "Invalid string. Got: number"). Header-only; users link nlohmann_json.
#pragma once

#include <expected>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace kleene::util {

struct BodyError {
  std::string pointer;  // e.g. "/mounts/0/source"
  std::string message;
};

inline std::unexpected<BodyError> invalid(std::string pointer, std::string message) {
  return std::unexpected(BodyError{std::move(pointer), std::move(message)});
}

// "Got: <JSON type>", the tail of OpenApiSpex's type errors.
inline std::string got(const nlohmann::json& value) {
  return std::string("Got: ") + value.type_name();
}

// Nesting allowed in a request body or WebSocket frame. nlohmann parses and destroys without
// recursion but copies and dumps with one level of recursion per level of nesting: an 8 MiB
// body of `[` would overflow the stack of the thread that copies or answers it.
inline constexpr int kMaxJsonDepth = 64;

// nlohmann::json::parse with the depth bounded; the error is the text to show after
// "malformed JSON: " (the parser's, or "nested deeper than 64 levels").
inline std::expected<nlohmann::json, std::string> parse_json_bounded(std::string_view text) {
  struct TooDeep {};
  using event_t = nlohmann::json::parse_event_t;
  try {
    return nlohmann::json::parse(text, [](int depth, event_t event, nlohmann::json&) {
      // `depth` of a start event is that of the container it opens, less one.
      if ((event == event_t::object_start || event == event_t::array_start) &&
          depth >= kMaxJsonDepth)
        throw TooDeep{};
      return true;
    });
  } catch (const TooDeep&) {
    return std::unexpected("nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and also out_of_range for a number no double holds ({"cmd":[1e400]}).
    return std::unexpected(std::string(e.what()));
  }
}

// A present, non-null field of `body`, or nullptr.
inline const nlohmann::json* field(const nlohmann::json& body, std::string_view name) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace kleene::util
