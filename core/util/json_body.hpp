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

// A present, non-null field of `body`, or nullptr.
inline const nlohmann::json* field(const nlohmann::json& body, std::string_view name) {
  const auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace kleene::util
