#include "util/duration.hpp"

#include <cstdint>

namespace kleene {

namespace {

std::string count_of(std::int64_t n, const char* unit) {
  return std::to_string(n) + " " + unit;
}

}  // namespace

// The thresholds and wording are klee's (Kleene's CLI), itself after Docker's go-units
// HumanDuration. Hours round to nearest (int(minutes / 60 + 0.5)), everything else truncates.
std::string human_duration(std::chrono::seconds elapsed) {
  const std::int64_t seconds = elapsed.count();
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return count_of(seconds, "seconds");
  const std::int64_t minutes = seconds / 60;
  if (minutes == 1) return "About a minute";
  if (minutes < 60) return count_of(minutes, "minutes");
  const std::int64_t hours = (minutes + 30) / 60;
  if (hours == 1) return "About an hour";
  if (hours < 48) return count_of(hours, "hours");
  if (hours < 24 * 7 * 2) return count_of(hours / 24, "days");
  if (hours < 24 * 30 * 2) return count_of(hours / (24 * 7), "weeks");
  if (hours < 24 * 365 * 2) return count_of(hours / (24 * 30), "months");
  return count_of(hours / (24 * 365), "years");
}

std::string time_ago(std::chrono::system_clock::time_point created,
                     std::chrono::system_clock::time_point now) {
  // duration_cast truncates toward zero, like klee's int(now - created).
  return human_duration(std::chrono::duration_cast<std::chrono::seconds>(now - created)) + " ago";
}

}  // namespace kleene
