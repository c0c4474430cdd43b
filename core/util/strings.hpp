// Small string helpers shared by the core.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace kleene {

// Split on every `sep`; "a,,b" -> {"a", "", "b"}; "" -> {""}.
[[nodiscard]] std::vector<std::string> split(std::string_view text, char sep);

// Without leading/trailing ASCII whitespace.
[[nodiscard]] std::string_view trim(std::string_view text);

[[nodiscard]] std::string join(const std::vector<std::string>& parts, std::string_view sep);

}  // namespace kleene
