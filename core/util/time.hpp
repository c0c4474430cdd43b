// Timestamps on the wire and in the store: ISO-8601, UTC, microseconds,
// e.g. "2026-11-23T16:18:54.123456Z" (the shape Kleene's Elixir DateTime produces).
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace kleene {

using TimePoint = std::chrono::system_clock::time_point;

[[nodiscard]] std::string format_iso8601(TimePoint when);
[[nodiscard]] std::string iso8601_now();

// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)" ('T' or ' ', 'Z' or 'z'); the
// fraction may have 1-9 digits and is truncated to microseconds. EINVAL otherwise.
[[nodiscard]] Result<TimePoint> parse_iso8601(std::string_view text);

}  // namespace kleene
