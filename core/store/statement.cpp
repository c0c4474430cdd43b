#include "store/statement.hpp"

#include <sqlite3.h>
#include <strings.h>

#include <utility>

namespace kleene::store {

namespace {

bool starts_with_word(const char* sql, const char* word) {
  if (sql == nullptr) return false;
  while (*sql == ' ' || *sql == '\t' || *sql == '\n' || *sql == '\r')
    ++sql;
  return ::strncasecmp(sql, word, std::char_traits<char>::length(word)) == 0;
}

int errno_for(int rc, const char* sql, std::string_view message) {
  // ON DELETE RESTRICT is implemented by SQLite as a trigger and reported as one.
  if (rc == SQLITE_CONSTRAINT_TRIGGER && message.find("FOREIGN KEY") != std::string_view::npos) {
    rc = SQLITE_CONSTRAINT_FOREIGNKEY;
  }
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY: {
      // Removing or re-keying a parent that rows still point at, vs pointing at a missing one.
      return starts_with_word(sql, "DELETE") || starts_with_word(sql, "UPDATE") ? EBUSY : ENOENT;
    }
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
      return EINVAL;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return EBUSY;
    case SQLITE_NOMEM:
      return ENOMEM;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return EACCES;
    case SQLITE_FULL:
      return ENOSPC;
    default:
      return EIO;
  }
}

// `sql` (may be null) is the failing SQL, which tells the two foreign-key failures apart.
Error make(sqlite3* db, int rc, std::string_view what, const char* sql) {
  // The connection's extended code is more precise than what some entry points (sqlite3_exec)
  // return, e.g. SQLITE_CONSTRAINT_FOREIGNKEY rather than SQLITE_CONSTRAINT.
  if (db != nullptr && (sqlite3_extended_errcode(db) & 0xff) == (rc & 0xff)) {
    rc = sqlite3_extended_errcode(db);
  }
  const std::string_view reason = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  const int code = errno_for(rc, sql, reason);
  std::string message = "sqlite: ";
  message.append(what).append(": ").append(reason);
  return Error{code, std::move(message)};
}

}  // namespace

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  return make(db, rc, what, nullptr);
}

Statement::~Statement() {
  sqlite3_finalize(stmt_);
}

Statement::Statement(Statement&& other) noexcept
    : db_(other.db_),
      stmt_(std::exchange(other.stmt_, nullptr)),
      bind_error_(std::move(other.bind_error_)) {}

Statement& Statement::operator=(Statement&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    db_ = other.db_;
    stmt_ = std::exchange(other.stmt_, nullptr);
    bind_error_ = std::move(other.bind_error_);
  }
  return *this;
}

void Statement::check_bind(int rc, int index) {
  if (rc != SQLITE_OK && !bind_error_) {
    bind_error_ = make(db_, rc, "bind parameter " + std::to_string(index), nullptr);
  }
}

int Statement::parameter_index(std::string_view name) {
  const int index = sqlite3_bind_parameter_index(stmt_, std::string(name).c_str());
  if (index == 0 && !bind_error_) {
    bind_error_ = Error{EINVAL, "sqlite: no parameter named " + std::string(name)};
  }
  return index;
}

Statement& Statement::bind(int index, std::string_view value) {
  check_bind(
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8),
      index);
  return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
  check_bind(sqlite3_bind_int64(stmt_, index, value), index);
  return *this;
}

Statement& Statement::bind(int index, double value) {
  check_bind(sqlite3_bind_double(stmt_, index, value), index);
  return *this;
}

Statement& Statement::bind(int index, std::nullptr_t) {
  check_bind(sqlite3_bind_null(stmt_, index), index);
  return *this;
}

Result<bool> Statement::step() {
  if (bind_error_) return std::unexpected(*bind_error_);
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  const char* sql = sqlite3_sql(stmt_);
  const std::string_view what = sql != nullptr ? std::string_view(sql).substr(0, 80) : "step";
  return std::unexpected(make(db_, rc, what, sql));
}

Result<void> Statement::run() {
  while (TRY(step())) {
  }
  return {};
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_error_.reset();
}

int Statement::column_count() const {
  return sqlite3_column_count(stmt_);
}

bool Statement::is_null(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::string Statement::text(int column) const {
  const auto* data = sqlite3_column_text(stmt_, column);
  const int size = sqlite3_column_bytes(stmt_, column);  // after _text, as SQLite requires
  if (data == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(size));
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

std::int64_t Statement::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Statement::real(int column) const {
  return sqlite3_column_double(stmt_, column);
}

Transaction::~Transaction() {
  rollback();
}

Transaction::Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}

Result<void> Transaction::commit() {
  if (db_ == nullptr) return make_error(EINVAL, "sqlite: transaction already finished");
  const int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(make(db_, rc, "COMMIT", nullptr));
  db_ = nullptr;
  return {};
}

void Transaction::rollback() noexcept {
  if (db_ == nullptr) return;
  // Fails harmlessly if SQLite already rolled back on its own (e.g. after SQLITE_FULL).
  sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  db_ = nullptr;
}

Result<void> exec(sqlite3* db, std::string_view sql) {
  const std::string text(sql);  // sqlite3_exec needs a NUL-terminated string
  char* raw_message = nullptr;
  const int rc = sqlite3_exec(db, text.c_str(), nullptr, nullptr, &raw_message);
  sqlite3_free(raw_message);  // the same text as sqlite3_errmsg, which make() reads
  if (rc != SQLITE_OK) return std::unexpected(make(db, rc, sql.substr(0, 80), text.c_str()));
  return {};
}

}  // namespace kleene::store
