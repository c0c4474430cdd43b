// Kleene's human-readable ages ("About a minute ago"), as klee prints them in `ls` tables.
#pragma once

#include <chrono>
#include <string>

namespace kleene {

// "Less than a second", "1 second", "N seconds", "About a minute", "N minutes",
// "About an hour", "N hours", "N days", "N weeks", "N months", "N years".
// Hours are rounded to the nearest hour, the other units truncate (Kleene's rules).
[[nodiscard]] std::string human_duration(std::chrono::seconds elapsed);

// human_duration(now - created) + " ago"; a created time in the future reads as
// "Less than a second ago".
[[nodiscard]] std::string time_ago(
    std::chrono::system_clock::time_point created,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace kleene
