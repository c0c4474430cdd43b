// Terminal column widths of UTF-8 text (wide CJK/emoji count 2, combining marks 0).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace klee {

// Columns a code point occupies on a terminal: 0, 1 or 2 (control characters count 0).
[[nodiscard]] int codepoint_width(char32_t cp);

// Columns of a UTF-8 string; an invalid byte counts as one column (shown as U+FFFD).
[[nodiscard]] std::size_t display_width(std::string_view utf8);

// The longest prefix that fits in `columns`, cut on a code point boundary, with `ellipsis`
// appended when something was cut (the ellipsis counts towards `columns`).
[[nodiscard]] std::string truncate_to_width(std::string_view utf8, std::size_t columns,
                                            std::string_view ellipsis);

}  // namespace klee
