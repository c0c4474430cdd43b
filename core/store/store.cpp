#include "store/store.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <string>
#include <system_error>

#include "util/unique_fd.hpp"

namespace kleene::store {

namespace fs = std::filesystem;

namespace {

// mkdir -p with mode 0700 for the directories it creates (existing ones are left alone).
Result<void> create_parents(const fs::path& dir) {
  if (dir.empty()) return {};
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return make_error(ENOTDIR, dir.string() + ": not a directory");
    return {};
  }
  if (dir.has_parent_path() && dir.parent_path() != dir) TRY(create_parents(dir.parent_path()));
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return errno_error("mkdir " + dir.string());
  return {};
}

// Create the file ourselves so it is never, even briefly, readable by others; SQLite gives its
// -wal and -shm files the database file's mode.
Result<void> prepare_file(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return errno_error("open " + path.string());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("stat " + path.string());
  if (!S_ISREG(st.st_mode)) return make_error(EINVAL, path.string() + ": not a regular file");
  if ((st.st_mode & 07777) != 0600 && ::fchmod(fd.get(), 0600) != 0) {
    return errno_error("chmod " + path.string());
  }
  return {};
}

Result<int> user_version(Connection& conn) {
  return static_cast<int>(TRY(conn.query_int("PRAGMA user_version")));
}

Result<void> apply_one(Connection& conn, std::size_t index, std::string_view sql, int& version) {
  auto txn = TRY(conn.begin());
  // Another process may have migrated while we waited for the write lock.
  version = TRY(user_version(conn));
  if (static_cast<std::size_t>(version) > index) return {};
  if (auto applied = conn.exec(sql); !applied) {
    return std::unexpected(applied.error().wrap("migration " + std::to_string(index + 1)));
  }
  auto check = TRY(conn.prepare("PRAGMA foreign_key_check"));
  if (TRY(check.step())) {
    return make_error(EIO, "migration " + std::to_string(index + 1) +
                               " leaves a foreign key violation in table " + check.text(0));
  }
  TRY(conn.exec("PRAGMA user_version = " + std::to_string(index + 1)));
  TRY(txn.commit());
  version = static_cast<int>(index + 1);
  return {};
}

// Migrations run with foreign keys off (they cannot be toggled inside a transaction, and a
// table rebuild needs them off), each checked with foreign_key_check before its commit.
Result<int> migrate(Connection& conn, const fs::path& path,
                    std::span<const std::string_view> schema) {
  int version = TRY(user_version(conn));
  if (version < 0 || static_cast<std::size_t>(version) > schema.size()) {
    return make_error(ENOTSUP, "metadata database " + path.string() + " has schema version " +
                                   std::to_string(version) + ", newer than this kleened knows (" +
                                   std::to_string(schema.size()) +
                                   "); refusing to open it (upgrade kleened)");
  }
  TRY(conn.exec("PRAGMA foreign_keys = OFF"));
  for (std::size_t i = static_cast<std::size_t>(version); i < schema.size(); ++i) {
    auto applied = apply_one(conn, i, schema[i], version);
    if (!applied) {
      (void)conn.exec("PRAGMA foreign_keys = ON");
      return std::unexpected(applied.error().wrap(path.string()));
    }
  }
  TRY(conn.exec("PRAGMA foreign_keys = ON"));
  return version;
}

}  // namespace

Result<Statement> Connection::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  const int rc =
      sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), 0, &stmt, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(sqlite_error(db_, rc, sql.substr(0, 80)));
  if (stmt == nullptr) return make_error(EINVAL, "sqlite: empty statement");
  return Statement(db_, stmt);
}

Result<void> Connection::exec(std::string_view sql) {
  return store::exec(db_, sql);
}

Result<Transaction> Connection::begin() {
  TRY(exec("BEGIN IMMEDIATE"));
  return Transaction(db_);
}

Result<std::int64_t> Connection::query_int(std::string_view sql) {
  auto stmt = TRY(prepare(sql));
  if (!TRY(stmt.step())) return make_error(ENOENT, "sqlite: no row: " + std::string(sql));
  return stmt.int64(0);
}

std::int64_t Connection::last_insert_rowid() const {
  return sqlite3_last_insert_rowid(db_);
}

int Connection::changes() const {
  return sqlite3_changes(db_);
}

Result<std::unique_ptr<Store>> Store::open(const fs::path& path) {
  return open(path, migrations());
}

Result<std::unique_ptr<Store>> Store::open(const fs::path& path,
                                           std::span<const std::string_view> schema) {
  TRY(create_parents(path.parent_path()));
  TRY(prepare_file(path));

  sqlite3* db = nullptr;
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX;  // created above
  const int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  // Owned from here on, even when the open failed (SQLite still allocates a handle).
  std::unique_ptr<Store> store(new Store(db, path));
  if (rc != SQLITE_OK) {
    return std::unexpected(sqlite_error(db, rc, "open").wrap(path.string()));
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);

  auto conn = store->lock();
  {
    // Scoped: a statement left mid-result would block the migrations' COMMIT.
    auto mode = TRY(conn.prepare("PRAGMA journal_mode = WAL"));
    if (!TRY(mode.step()) || mode.text(0) != "wal") {
      return make_error(EIO, path.string() + ": cannot switch the database to WAL mode");
    }
  }
  TRY(conn.exec("PRAGMA synchronous = NORMAL"));
  store->schema_version_ = TRY(migrate(conn, path, schema));
  TRY(conn.exec("PRAGMA foreign_keys = ON"));
  if (TRY(conn.query_int("PRAGMA foreign_keys")) != 1) {
    return make_error(ENOTSUP, "sqlite: this SQLite build does not enforce foreign keys");
  }
  return store;
}

Store::~Store() {
  sqlite3_close_v2(db_);
}

Connection Store::lock() {
  return Connection(db_, std::unique_lock(mutex_));
}

}  // namespace kleene::store
