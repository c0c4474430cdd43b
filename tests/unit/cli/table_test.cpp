#include <gtest/gtest.h>

#include "output/display_width.hpp"
#include "output/json.hpp"
#include "output/table.hpp"

namespace klee {
namespace {

TEST(DisplayWidth, CountsTerminalColumns) {
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("wörld"), 5u);    // 2-byte code point, one column
  EXPECT_EQ(display_width("日本"), 4u);     // wide
  EXPECT_EQ(display_width("e\u0301"), 1u);  // combining accent
  EXPECT_EQ(display_width("🙂"), 2u);     // emoji
  EXPECT_EQ(display_width("─"), 1u);
  EXPECT_EQ(display_width("\xff"), 1u);      // invalid byte
  EXPECT_EQ(display_width("\xe6\x97"), 2u);  // truncated sequence: one column per byte
}

TEST(DisplayWidth, TruncatesOnCodePointBoundaries) {
  EXPECT_EQ(truncate_to_width("abcdef", 4, "…"), "abc…");
  EXPECT_EQ(truncate_to_width("日本語テキスト", 5, "…"), "日本…");
  EXPECT_EQ(truncate_to_width("short", 10, "…"), "short");
}

const std::vector<Column> kColumns = {
    {.header = "CONTAINER ID", .min_width = 13}, {.header = "NAME"}, {.header = "IMAGE"}};

TEST(Table, FancyEmptyMatchesKleene) {
  // Kleene's klee prints exactly this (rich, box.SIMPLE, show_edge=False) for no containers.
  const std::vector<Column> columns = {{.header = "CONTAINER ID", .min_width = 13},
                                       {.header = "NAME"},
                                       {.header = "IMAGE"},
                                       {.header = "COMMAND"},
                                       {.header = "CREATED"},
                                       {.header = "STATUS"},
                                       {.header = "JID"}};
  EXPECT_EQ(render_table(columns, {}, Theme::fancy),
            " CONTAINER ID    NAME   IMAGE   COMMAND   CREATED   STATUS   JID \n"
            "─────────────────────────────────────────────────────────────────\n");
}

TEST(Table, FancyRowsAlignByDisplayWidth) {
  const std::vector<Row> rows = {{"a1b2c3d4e5f6", "日本", "wörld"}, {"x", "plain", "e\u0301"}};
  EXPECT_EQ(render_table(kColumns, rows, Theme::fancy),
            " CONTAINER ID    NAME    IMAGE \n"
            "───────────────────────────────\n"
            " a1b2c3d4e5f6    日本    wörld \n"
            " x               plain   e\u0301     \n");
}

TEST(Table, SimpleIsAscii) {
  const std::vector<Row> rows = {{"a1", "n", "i"}};
  EXPECT_EQ(render_table(kColumns, rows, Theme::simple),
            " CONTAINER ID  | NAME | IMAGE \n"
            "---------------+------+-------\n"
            " a1            | n    | i     \n");
}

TEST(Table, JustifyMaxWidthAndMissingCells) {
  const std::vector<Column> columns = {{.header = "N", .justify = Justify::right},
                                       {.header = "CMD", .max_width = 5},
                                       {.header = "C", .justify = Justify::center}};
  const std::vector<Row> rows = {{"7", "/bin/sh -c ls", "ab"}, {"12"}};
  EXPECT_EQ(render_table(columns, rows, Theme::fancy),
            "  N   CMD     C  \n"
            "─────────────────\n"
            "  7   /bin…   ab \n"
            " 12              \n");
  EXPECT_EQ(render_table(columns, rows, Theme::simple),
            "  N | CMD   | C  \n"
            "----+-------+----\n"
            "  7 | /b... | ab \n"
            " 12 |       |    \n");
}

TEST(Table, ColorOnlyInFancy) {
  const std::vector<Column> columns = {{.header = "A", .style = "36"}};
  const std::vector<Row> rows = {{"x"}};
  EXPECT_EQ(render_table(columns, rows, Theme::fancy, true),
            " \x1b[1mA\x1b[0m \n───\n \x1b[36mx\x1b[0m \n");
  EXPECT_EQ(render_table(columns, rows, Theme::simple, true), " A \n---\n x \n");
}

TEST(Json, PrettyTwoSpaces) {
  auto value = nlohmann::json::parse(R"({"b":[1,"ü"],"a":null})");
  EXPECT_EQ(pretty_json(value, Theme::simple),
            "{\n  \"a\": null,\n  \"b\": [\n    1,\n    \"ü\"\n  ]\n}\n");
  EXPECT_EQ(pretty_json(nlohmann::json::parse(R"({"k":1})"), Theme::fancy, true),
            "{\n  \x1b[1;34m\"k\"\x1b[0m: \x1b[1;36m1\x1b[0m\n}\n");
}

}  // namespace
}  // namespace klee
