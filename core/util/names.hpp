// Docker-style random names ("adjective_surname") for containers created without --name.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kleene {

inline constexpr std::size_t kMaxNameLength = 64;

// e.g. "brave_noether". Not guaranteed unique: the caller retries on a collision.
[[nodiscard]] std::string generate_name();

// Docker's rule for object names, [a-zA-Z0-9][a-zA-Z0-9_.-]*, at most kMaxNameLength chars.
[[nodiscard]] bool is_valid_name(std::string_view name);

}  // namespace kleene
