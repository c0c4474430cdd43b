// Thin RAII wrappers over the SQLite C API: prepared statements and transactions.
// They are created from a store::Connection (store.hpp) and must not outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "util/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace kleene::store {

// The Error for the connection's last failure: code mapped from the SQLite result code
// (UNIQUE/PRIMARY KEY -> EEXIST; FOREIGN KEY -> EBUSY in a DELETE/UPDATE, i.e. "still
// referenced", else ENOENT, i.e. "the referenced row does not exist"; other constraints ->
// EINVAL; BUSY/LOCKED -> EBUSY; anything else -> EIO), message "sqlite: <what>: <errmsg>".
[[nodiscard]] Error sqlite_error(sqlite3* db, int rc, std::string_view what);

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) noexcept : db_(db), stmt_(stmt) {}
  ~Statement();
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Bind by 1-based index or by name (":name", "@name", "$name"). Binding errors are kept and
  // reported by the next step()/run(), so binds chain: stmt.bind(1, id).bind(2, name).
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, std::int64_t{value}); }
  Statement& bind(int index, bool value) { return bind(index, std::int64_t{value ? 1 : 0}); }
  Statement& bind(int index, double value);
  Statement& bind(int index, std::nullptr_t);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bind(index, nullptr);
  }
  template <typename T>
  Statement& bind(std::string_view name, T&& value) {
    return bind(parameter_index(name), std::forward<T>(value));
  }

  // true: a row is available through the column accessors; false: the statement is done.
  [[nodiscard]] Result<bool> step();
  // Step to completion, for statements that return no rows (INSERT/UPDATE/DELETE/DDL).
  [[nodiscard]] Result<void> run();
  // Make the statement reusable with new bindings (bindings are cleared).
  void reset();

  // Column accessors for the current row (0-based). NULL reads as "" / 0 / false.
  [[nodiscard]] int column_count() const;
  [[nodiscard]] bool is_null(int column) const;
  [[nodiscard]] std::string text(int column) const;
  [[nodiscard]] std::int64_t int64(int column) const;
  [[nodiscard]] bool boolean(int column) const { return int64(column) != 0; }
  [[nodiscard]] double real(int column) const;
  [[nodiscard]] std::optional<std::string> optional_text(int column) const;

  [[nodiscard]] sqlite3_stmt* handle() const noexcept { return stmt_; }

 private:
  int parameter_index(std::string_view name);
  void check_bind(int rc, int index);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  std::optional<Error> bind_error_;
};

// BEGIN IMMEDIATE on construction (through Connection::begin); rolls back in the destructor
// unless commit() succeeded. IMMEDIATE takes the write lock up front so a read-then-write
// transaction cannot fail half-way with SQLITE_BUSY.
class Transaction {
 public:
  explicit Transaction(sqlite3* db) noexcept : db_(db) {}
  ~Transaction();
  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  [[nodiscard]] Result<void> commit();
  // Explicit rollback (also what the destructor does). Idempotent.
  void rollback() noexcept;

 private:
  sqlite3* db_;
};

// Run SQL that may hold several statements and returns no rows.
[[nodiscard]] Result<void> exec(sqlite3* db, std::string_view sql);

}  // namespace kleene::store
