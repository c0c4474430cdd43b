#include "output/display_width.hpp"

#include <algorithm>
#include <array>
#include <utility>

namespace klee {
namespace {

using Range = std::pair<char32_t, char32_t>;

// Combining marks and other zero-width code points (the common blocks).
constexpr std::array<Range, 16> kZeroWidth{{
    {0x0300, 0x036F},
    {0x0483, 0x0489},
    {0x0591, 0x05BD},
    {0x0610, 0x061A},
    {0x064B, 0x065F},
    {0x0E31, 0x0E31},
    {0x0E34, 0x0E3A},
    {0x1AB0, 0x1AFF},
    {0x1DC0, 0x1DFF},
    {0x200B, 0x200F},
    {0x202A, 0x202E},
    {0x2060, 0x2064},
    {0x20D0, 0x20FF},
    {0xFE00, 0xFE0F},
    {0xFE20, 0xFE2F},
    {0xE0100, 0xE01EF},
}};

// East Asian Wide and Fullwidth blocks, and the emoji planes terminals draw two columns wide.
constexpr std::array<Range, 19> kWide{{
    {0x1100, 0x115F}, {0x231A, 0x231B},   {0x2329, 0x232A},   {0x23E9, 0x23EC},   {0x25FD, 0x25FE},
    {0x2614, 0x2615}, {0x2E80, 0x303E},   {0x3041, 0x33FF},   {0x3400, 0x4DBF},   {0x4E00, 0x9FFF},
    {0xA000, 0xA4CF}, {0xAC00, 0xD7A3},   {0xF900, 0xFAFF},   {0xFE30, 0xFE4F},   {0xFF00, 0xFF60},
    {0xFFE0, 0xFFE6}, {0x1F300, 0x1F64F}, {0x1F900, 0x1F9FF}, {0x20000, 0x3FFFD},
}};

bool in(const auto& ranges, char32_t cp) {
  auto it = std::ranges::upper_bound(ranges, cp, {}, &Range::first);
  return it != ranges.begin() && cp <= std::prev(it)->second;
}

// Decodes one code point at `pos` and advances; malformed input yields U+FFFD and one byte.
char32_t next_codepoint(std::string_view s, std::size_t& pos) {
  const auto lead = static_cast<unsigned char>(s[pos]);
  int extra = lead < 0x80           ? 0
              : (lead >> 5) == 0x6  ? 1
              : (lead >> 4) == 0xE  ? 2
              : (lead >> 3) == 0x1E ? 3
                                    : -1;
  if (extra == 0) {
    ++pos;
    return lead;
  }
  if (extra < 0 || pos + static_cast<std::size_t>(extra) >= s.size()) {
    ++pos;
    return 0xFFFD;
  }
  char32_t cp = lead & (0x3F >> extra);
  for (int i = 1; i <= extra; ++i) {
    const auto c = static_cast<unsigned char>(s[pos + static_cast<std::size_t>(i)]);
    if ((c & 0xC0) != 0x80) {
      ++pos;
      return 0xFFFD;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  pos += static_cast<std::size_t>(extra) + 1;
  return cp;
}

}  // namespace

int codepoint_width(char32_t cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0)) return 0;
  if (in(kZeroWidth, cp)) return 0;
  if (in(kWide, cp)) return 2;
  return 1;
}

std::size_t display_width(std::string_view utf8) {
  std::size_t width = 0;
  for (std::size_t pos = 0; pos < utf8.size();) {
    width += static_cast<std::size_t>(codepoint_width(next_codepoint(utf8, pos)));
  }
  return width;
}

std::string truncate_to_width(std::string_view utf8, std::size_t columns,
                              std::string_view ellipsis) {
  if (display_width(utf8) <= columns) return std::string(utf8);
  const std::size_t budget = columns - std::min(columns, display_width(ellipsis));
  std::size_t width = 0;
  std::size_t pos = 0;
  while (pos < utf8.size()) {
    std::size_t next = pos;
    const auto w = static_cast<std::size_t>(codepoint_width(next_codepoint(utf8, next)));
    if (width + w > budget) break;
    width += w;
    pos = next;
  }
  std::string out(utf8.substr(0, pos));
  if (display_width(ellipsis) <= columns) out += ellipsis;
  return out;
}

}  // namespace klee
