// The SQLite metadata store: the only store of record for containers, images, networks,
// endpoints, volumes and mounts (schema in migrations.cpp).
//
// Threading: one connection per Store, serialised by a mutex. Every access goes through a
// Connection obtained from Store::lock(), which holds the mutex for its lifetime, so a Store
// can be shared by all threads; keep a Connection only as long as a unit of work (never across
// a plugin call or other slow I/O).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <span>
#include <string_view>

#include "store/statement.hpp"
#include "util/error.hpp"

namespace kleene::store {

// The schema, one migration per version: migrations()[i] takes the database from version i
// to i + 1. Append only; never edit a migration that has shipped.
[[nodiscard]] std::span<const std::string_view> migrations();

class Connection {
 public:
  Connection(sqlite3* db, std::unique_lock<std::mutex> lock) noexcept
      : db_(db), lock_(std::move(lock)) {}

  [[nodiscard]] Result<Statement> prepare(std::string_view sql);
  [[nodiscard]] Result<void> exec(std::string_view sql);
  // BEGIN IMMEDIATE; the Transaction must not outlive this Connection.
  [[nodiscard]] Result<Transaction> begin();
  // The first column of the first row as an integer (ENOENT if there is no row).
  [[nodiscard]] Result<std::int64_t> query_int(std::string_view sql);

  [[nodiscard]] std::int64_t last_insert_rowid() const;
  [[nodiscard]] int changes() const;  // rows changed by the last INSERT/UPDATE/DELETE
  [[nodiscard]] sqlite3* handle() const noexcept { return db_; }

 private:
  sqlite3* db_;
  std::unique_lock<std::mutex> lock_;
};

class Store {
 public:
  // Open (creating if needed) the database at `path`: missing parent directories are created
  // 0700, the file is created 0600 (and reset to 0600 if it has other modes; a symlink is
  // refused), WAL journal, foreign keys on, synchronous=NORMAL, busy timeout 5 s; pending
  // migrations are applied, each in its own transaction. A database whose schema version is
  // newer than this build knows is refused (ENOTSUP) rather than risk misreading it.
  [[nodiscard]] static Result<std::unique_ptr<Store>> open(const std::filesystem::path& path);
  // The same with an explicit migration list (tests; tools that inspect old schemas).
  [[nodiscard]] static Result<std::unique_ptr<Store>> open(
      const std::filesystem::path& path, std::span<const std::string_view> schema);

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Exclusive use of the connection until the returned Connection is destroyed.
  [[nodiscard]] Connection lock();
  [[nodiscard]] Result<void> exec(std::string_view sql) { return lock().exec(sql); }

  [[nodiscard]] int schema_version() const noexcept { return schema_version_; }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  Store(sqlite3* db, std::filesystem::path path) noexcept : db_(db), path_(std::move(path)) {}

  sqlite3* db_;
  std::filesystem::path path_;
  int schema_version_ = 0;
  std::mutex mutex_;
};

}  // namespace kleene::store
