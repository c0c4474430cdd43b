// Object identifiers: 12 lowercase hex characters, as Kleene's (and Docker's short ids).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kleene {

inline constexpr std::size_t kIdLength = 12;

// A fresh random id from the kernel CSPRNG. Never all digits, so an id cannot be mistaken
// for a number (a PID, a port, an index) by users or tools.
[[nodiscard]] std::string generate_id();

// Exactly kIdLength lowercase hex characters, not all digits.
[[nodiscard]] bool is_id(std::string_view text);

}  // namespace kleene
