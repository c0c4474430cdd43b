#include "util/ids.hpp"

#include <algorithm>
#include <array>

#include "util/random.hpp"

namespace kleene {

namespace {

bool all_digits(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

std::string generate_id() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::array<std::byte, kIdLength / 2> bytes{};
  for (;;) {
    random_bytes(bytes);
    std::string id;
    id.reserve(kIdLength);
    for (const std::byte b : bytes) {
      const auto v = std::to_integer<unsigned>(b);
      id.push_back(kHex[v >> 4]);
      id.push_back(kHex[v & 0xf]);
    }
    if (!all_digits(id)) return id;
  }
}

bool is_id(std::string_view text) {
  if (text.size() != kIdLength) return false;
  const bool hex = std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
  return hex && !all_digits(text);
}

}  // namespace kleene
