// Reading rows of the repositories' tables (core/image, core/container): JSON columns, string
// lists in them, and the one SELECT they all make. Header-only; its users link nlohmann_json.
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.hpp"
#include "util/error.hpp"

namespace kleene::store {

// A JSON column; text that is not valid JSON of fallback's type (never written by us) reads as
// `fallback`.
inline nlohmann::json json_column(const Statement& stmt, int column, nlohmann::json fallback) {
  auto value = nlohmann::json::parse(stmt.text(column), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded() || value.type() != fallback.type()) return fallback;
  return value;
}

// The strings of a JSON array (anything else in it is skipped).
inline std::vector<std::string> string_list(const nlohmann::json& array) {
  std::vector<std::string> out;
  for (const auto& item : array)
    if (item.is_string()) out.push_back(item.get<std::string>());
  return out;
}

// SELECT <columns> FROM <table> [WHERE <where>, with `param` as ?1], newest first (ties by id),
// each row read with read_row(stmt).
template <typename ReadRow>
auto select_rows(Connection& conn, std::string_view columns, std::string_view table,
                 std::string_view where, std::string_view param, ReadRow read_row)
    -> Result<std::vector<std::invoke_result_t<ReadRow, const Statement&>>> {
  std::string sql = "SELECT " + std::string(columns) + " FROM " + std::string(table);
  if (!where.empty()) sql += " WHERE " + std::string(where);
  sql += " ORDER BY created DESC, id";
  auto stmt = TRY(conn.prepare(sql));
  if (!where.empty()) stmt.bind(1, param);
  std::vector<std::invoke_result_t<ReadRow, const Statement&>> rows;
  while (TRY(stmt.step()))
    rows.push_back(read_row(stmt));
  return rows;
}

}  // namespace kleene::store
