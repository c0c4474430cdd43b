#include "output/table.hpp"

#include <algorithm>

#include "output/display_width.hpp"

namespace klee {
namespace {

std::string clean(std::string_view cell) {
  std::string out(cell);
  std::ranges::replace_if(
      out, [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  return out;
}

std::string fit(const Column& column, std::string_view cell, Theme theme) {
  std::string text = clean(cell);
  if (column.max_width > 0) {
    text = truncate_to_width(text, column.max_width, theme == Theme::fancy ? "…" : "...");
  }
  return text;
}

std::string pad(std::string_view text, std::size_t width, Justify justify) {
  const std::size_t gap = width - std::min(width, display_width(text));
  std::size_t left = 0;
  if (justify == Justify::right) left = gap;
  if (justify == Justify::center) left = gap / 2;
  return std::string(left, ' ') + std::string(text) + std::string(gap - left, ' ');
}

std::string styled(std::string_view text, std::string_view sgr, bool color) {
  if (!color || sgr.empty()) return std::string(text);
  return "\x1b[" + std::string(sgr) + "m" + std::string(text) + "\x1b[0m";
}

std::string repeat(std::string_view unit, std::size_t n) {
  std::string out;
  out.reserve(unit.size() * n);
  for (std::size_t i = 0; i < n; ++i)
    out += unit;
  return out;
}

}  // namespace

std::string render_table(std::span<const Column> columns, std::span<const Row> rows, Theme theme,
                         bool color) {
  if (columns.empty()) return {};
  color = color && theme == Theme::fancy;
  std::vector<Row> cells;
  cells.reserve(rows.size());
  std::vector<std::size_t> widths(columns.size());
  for (std::size_t c = 0; c < columns.size(); ++c) {
    widths[c] = std::max(columns[c].min_width, display_width(columns[c].header));
  }
  for (const auto& row : rows) {
    Row fitted(columns.size());
    for (std::size_t c = 0; c < columns.size(); ++c) {
      fitted[c] = c < row.size() ? fit(columns[c], row[c], theme) : std::string();
      widths[c] = std::max(widths[c], display_width(fitted[c]));
    }
    cells.push_back(std::move(fitted));
  }

  const std::string separator = theme == Theme::fancy ? "   " : " | ";
  auto line = [&](const Row& row, bool header) {
    std::string out = " ";
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (c > 0) out += separator;
      const auto& text = header ? columns[c].header : row[c];
      out +=
          styled(pad(text, widths[c], columns[c].justify), header ? "1" : columns[c].style, color);
    }
    return out + " \n";
  };

  std::string out = line({}, true);
  if (theme == Theme::fancy) {
    std::size_t total = columns.size() - 1;
    for (auto w : widths)
      total += w + 2;
    out += repeat("─", total) + "\n";
  } else {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (c > 0) out += "+";
      out += std::string(widths[c] + 2, '-');
    }
    out += "\n";
  }
  for (const auto& row : cells)
    out += line(row, false);
  return out;
}

}  // namespace klee
