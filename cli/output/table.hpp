// Tables as Kleene's klee prints them (rich's SIMPLE box for `fancy`, ASCII for `simple`).
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <vector>

#include "options/settings.hpp"

namespace klee {

enum class Justify { left, center, right };

struct Column {
  std::string header;
  Justify justify = Justify::left;
  std::size_t min_width = 0;
  std::size_t max_width = 0;  // 0: unlimited; longer cells are cut and end in an ellipsis
  std::string style;          // SGR parameters ("1;36") used by `fancy` on a colour terminal
};

using Row = std::vector<std::string>;

// fancy (color=false):
//    NAME   KIND      VERSION
//   ─────────────────────────
//    vnet   network   0.1.0
// simple:
//    NAME | KIND    | VERSION
//   ------+---------+---------
//    vnet | network | 0.1.0
// Each line keeps rich's one-space edge padding (also at the end of the line). Widths are
// terminal columns, so wide and combining characters line up. Missing cells print empty.
[[nodiscard]] std::string render_table(std::span<const Column> columns, std::span<const Row> rows,
                                       Theme theme, bool color = false);

}  // namespace klee
