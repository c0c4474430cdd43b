// The progress frame image creation sends while it fetches and unpacks, e.g.
//   "Fetched 1048576 of 4194304 bytes, extracted 120 files\n"
//   "Fetched 1048576 bytes, extracted 120 files\n"            (size unknown)
// A plain line for Kleene's clients, parsed by klee to draw a progress bar. Header-only and
// dependency-free because klee includes it too.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace kleene::image {

struct Progress {
  uint64_t fetched = 0;           // bytes read from the source (compressed)
  std::optional<uint64_t> total;  // the source's size when known
  uint64_t files = 0;             // archive entries extracted
};

inline std::string format_progress(const Progress& p) {
  char line[160];
  if (p.total) {
    std::snprintf(line, sizeof line, "Fetched %llu of %llu bytes, extracted %llu files\n",
                  static_cast<unsigned long long>(p.fetched),
                  static_cast<unsigned long long>(*p.total),
                  static_cast<unsigned long long>(p.files));
  } else {
    std::snprintf(line, sizeof line, "Fetched %llu bytes, extracted %llu files\n",
                  static_cast<unsigned long long>(p.fetched),
                  static_cast<unsigned long long>(p.files));
  }
  return line;
}

// The inverse of format_progress; nullopt for any other text.
inline std::optional<Progress> parse_progress(std::string_view text) {
  std::string line(text);
  unsigned long long fetched = 0, total = 0, files = 0;
  int used = 0;
  if (std::sscanf(line.c_str(), "Fetched %llu of %llu bytes, extracted %llu files\n%n", &fetched,
                  &total, &files, &used) == 3 &&
      static_cast<std::size_t>(used) == line.size()) {
    return Progress{fetched, total, files};
  }
  used = 0;
  if (std::sscanf(line.c_str(), "Fetched %llu bytes, extracted %llu files\n%n", &fetched, &files,
                  &used) == 2 &&
      static_cast<std::size_t>(used) == line.size()) {
    return Progress{fetched, std::nullopt, files};
  }
  return std::nullopt;
}

}  // namespace kleene::image
