// Helpers shared by the libFuzzer harnesses: an invariant check that aborts (libFuzzer keeps the
// input as a crash) and a pick of realistic or fuzzed strings for structured inputs.
#pragma once

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>

namespace kleene::fuzz {

// An invariant of the code under test, checked in every build type (no NDEBUG).
[[noreturn]] inline void fail(const char* file, int line, const char* condition,
                              std::string_view detail) {
  std::fprintf(stderr, "%s:%d: invariant violated: %s\n  %.*s\n", file, line, condition,
               static_cast<int>(detail.size()), detail.data());
  std::abort();
}

#define KLEENE_FUZZ_CHECK(condition, detail)                                          \
  do {                                                                                \
    if (!(condition)) ::kleene::fuzz::fail(__FILE__, __LINE__, #condition, (detail)); \
  } while (false)

// A mount destination as container::check_mounts leaves it: absolute, not "/", normalised (no
// "//", ".", ".." component, no trailing "/").
inline void check_destination(const std::string& destination) {
  KLEENE_FUZZ_CHECK(destination.starts_with('/') && destination != "/", destination);
  KLEENE_FUZZ_CHECK(destination.find("//") == std::string::npos && !destination.ends_with('/'),
                    destination);
  KLEENE_FUZZ_CHECK(destination.find("/./") == std::string::npos &&
                        destination.find("/../") == std::string::npos &&
                        !destination.ends_with("/.") && !destination.ends_with("/.."),
                    destination);
}

// One of `choices` most of the time, else "" or a string of fuzzed bytes (which may be a
// choice with hostile bytes appended: quotes, newlines, semicolons).
inline std::string pick(FuzzedDataProvider& in, std::initializer_list<std::string_view> choices,
                        std::size_t max_length = 48) {
  switch (in.ConsumeIntegralInRange<int>(0, 7)) {
    case 0:
      return {};
    case 1:
      return in.ConsumeRandomLengthString(max_length);
    case 2: {
      std::string out(
          choices.begin()[in.ConsumeIntegralInRange<std::size_t>(0, choices.size() - 1)]);
      return out + in.ConsumeRandomLengthString(max_length);
    }
    default:
      return std::string(
          choices.begin()[in.ConsumeIntegralInRange<std::size_t>(0, choices.size() - 1)]);
  }
}

}  // namespace kleene::fuzz
