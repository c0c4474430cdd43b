#include "store/store.hpp"

#include <sqlite3.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "temp_dir.hpp"

namespace kleene::store {
namespace {

mode_t mode_of(const std::filesystem::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::unique_ptr<Store> open_ok(const std::filesystem::path& p) {
  auto store = Store::open(p);
  EXPECT_TRUE(store) << (store ? "" : store.error().message);
  return store ? std::move(*store) : nullptr;
}

// Set PRAGMA user_version behind the store's back, as a newer kleened would have.
void set_user_version(const std::filesystem::path& p, int version) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(p.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, ("PRAGMA user_version = " + std::to_string(version)).c_str(), nullptr,
                         nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
}

void seed_image(Connection& conn, const std::string& id) {
  auto st = conn.prepare("INSERT INTO images (id, name, tag, created) VALUES (?, ?, 'latest', ?)")
                .value();
  ASSERT_TRUE(st.bind(1, id).bind(2, "img-" + id).bind(3, "2026-01-01T00:00:00.000000Z").run());
}

void seed_container(Connection& conn, const std::string& id, const std::string& image_id) {
  auto st = conn.prepare(
                    "INSERT INTO containers (id, name, image_id, created) VALUES (?1, ?1, ?2, "
                    "'2026-01-01T00:00:00.000000Z')")
                .value();
  ASSERT_TRUE(st.bind(1, id).bind(2, image_id).run());
}

TEST(Store, FreshDatabase) {
  testing::TempDir tmp;
  const auto db = tmp.path() / "a" / "b" / "metadata.sqlite";
  auto store = open_ok(db);
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), static_cast<int>(migrations().size()));
  EXPECT_EQ(store->path(), db);

  auto conn = store->lock();
  EXPECT_EQ(conn.query_int("PRAGMA user_version").value(), store->schema_version());
  EXPECT_EQ(conn.query_int("PRAGMA foreign_keys").value(), 1);
  EXPECT_EQ(conn.query_int("PRAGMA synchronous").value(), 1);  // NORMAL
  auto mode = conn.prepare("PRAGMA journal_mode").value();
  ASSERT_TRUE(mode.step().value());
  EXPECT_EQ(mode.text(0), "wal");
  for (const char* table : {"containers", "images", "networks", "endpoints", "volumes", "mounts"}) {
    auto st =
        conn.prepare("SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?").value();
    st.bind(1, table);
    ASSERT_TRUE(st.step().value());
    EXPECT_EQ(st.int64(0), 1) << table;
  }

  EXPECT_EQ(mode_of(db), 0600u);
  EXPECT_EQ(mode_of(tmp.path() / "a"), 0700u);
  EXPECT_EQ(mode_of(tmp.path() / "a" / "b"), 0700u);
  ASSERT_TRUE(std::filesystem::exists(db.string() + "-wal"));
  EXPECT_EQ(mode_of(db.string() + "-wal") & 0077, 0u);
}

TEST(Store, ExistingFileModeIsTightened) {
  testing::TempDir tmp;
  const auto db = tmp.path() / "metadata.sqlite";
  { auto created = open_ok(db); }
  ASSERT_EQ(::chmod(db.c_str(), 0644), 0);
  auto store = open_ok(db);
  EXPECT_EQ(mode_of(db), 0600u);
}

TEST(Store, SymlinkRefused) {
  testing::TempDir tmp;
  std::filesystem::create_symlink(tmp.path() / "elsewhere", tmp.path() / "metadata.sqlite");
  EXPECT_FALSE(Store::open(tmp.path() / "metadata.sqlite"));
}

TEST(Store, ReopenIsIdempotentAndKeepsData) {
  testing::TempDir tmp;
  const auto db = tmp.path() / "metadata.sqlite";
  {
    auto store = open_ok(db);
    auto conn = store->lock();
    seed_image(conn, "aaaaaaaaaaaa");
  }
  for (int i = 0; i < 2; ++i) {
    auto store = open_ok(db);
    ASSERT_TRUE(store);
    EXPECT_EQ(store->schema_version(), static_cast<int>(migrations().size()));
    EXPECT_EQ(store->lock().query_int("SELECT count(*) FROM images").value(), 1);
  }
}

TEST(Store, NewerSchemaRefused) {
  testing::TempDir tmp;
  const auto db = tmp.path() / "metadata.sqlite";
  { auto store = open_ok(db); }
  const int newer = static_cast<int>(migrations().size()) + 1;
  set_user_version(db, newer);
  const auto r = Store::open(db);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOTSUP);
  EXPECT_NE(r.error().message.find("schema version " + std::to_string(newer)), std::string::npos)
      << r.error().message;
  EXPECT_NE(r.error().message.find(db.string()), std::string::npos);
}

TEST(Store, MigrationsApplyInOrderAndAFailedOneRollsBack) {
  testing::TempDir tmp;
  const auto db = tmp.path() / "m.sqlite";
  const std::vector<std::string_view> v1 = {"CREATE TABLE t (x INTEGER)"};
  {
    auto store = Store::open(db, v1);
    ASSERT_TRUE(store);
    EXPECT_EQ((*store)->schema_version(), 1);
  }
  // The second migration fails half-way: its first statement must not survive.
  const std::vector<std::string_view> v2_bad = {v1[0], "CREATE TABLE u (y); SELECT nonsense()"};
  {
    const auto r = Store::open(db, v2_bad);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("migration 2"), std::string::npos) << r.error().message;
  }
  const std::vector<std::string_view> v2 = {v1[0], "CREATE TABLE u (y); INSERT INTO u VALUES (2)"};
  auto store = Store::open(db, v2);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->schema_version(), 2);
  EXPECT_EQ((*store)->lock().query_int("SELECT y FROM u").value(), 2);
}

TEST(Store, ForeignKeyViolationRejected) {
  testing::TempDir tmp;
  auto store = open_ok(tmp.path() / "metadata.sqlite");
  auto conn = store->lock();
  auto st = conn.prepare(
                    "INSERT INTO containers (id, name, image_id, created) VALUES "
                    "('cccccccccccc', 'web', 'nosuchimage0', 'now')")
                .value();
  const auto r = st.run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT) << r.error().message;

  seed_image(conn, "aaaaaaaaaaaa");
  seed_container(conn, "cccccccccccc", "aaaaaaaaaaaa");
  const auto del = conn.exec("DELETE FROM images WHERE id = 'aaaaaaaaaaaa'");
  ASSERT_FALSE(del);
  EXPECT_EQ(del.error().code, EBUSY) << del.error().message;
}

TEST(Store, UniqueNamesAndAddresses) {
  testing::TempDir tmp;
  auto store = open_ok(tmp.path() / "metadata.sqlite");
  auto conn = store->lock();
  seed_image(conn, "aaaaaaaaaaaa");
  seed_container(conn, "c1c1c1c1c1c1", "aaaaaaaaaaaa");
  auto dup = conn.exec(
      "INSERT INTO containers (id, name, image_id, created) VALUES "
      "('c2c2c2c2c2c2', 'c1c1c1c1c1c1', 'aaaaaaaaaaaa', 'now')");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code, EEXIST);

  seed_container(conn, "c2c2c2c2c2c2", "aaaaaaaaaaaa");
  ASSERT_TRUE(
      conn.exec("INSERT INTO networks (id, name, type, subnet, created) VALUES "
                "('n1n1n1n1n1n1', 'net', 'loopback', '10.0.0.0/24', 'now');"
                "INSERT INTO endpoints (id, network_id, container_id, ip_address) VALUES "
                "('e1e1e1e1e1e1', 'n1n1n1n1n1n1', 'c1c1c1c1c1c1', '10.0.0.2')"));
  const auto same_ip = conn.exec(
      "INSERT INTO endpoints (id, network_id, container_id, ip_address) VALUES "
      "('e2e2e2e2e2e2', 'n1n1n1n1n1n1', 'c2c2c2c2c2c2', '10.0.0.2')");
  ASSERT_FALSE(same_ip);
  EXPECT_EQ(same_ip.error().code, EEXIST);
  // An endpoint keeps its container and network from being removed.
  EXPECT_EQ(conn.exec("DELETE FROM containers WHERE id = 'c1c1c1c1c1c1'").error().code, EBUSY);
  EXPECT_EQ(conn.exec("DELETE FROM networks WHERE id = 'n1n1n1n1n1n1'").error().code, EBUSY);
}

TEST(Store, MountsCascadeWithTheirContainerAndHoldTheirVolume) {
  testing::TempDir tmp;
  auto store = open_ok(tmp.path() / "metadata.sqlite");
  auto conn = store->lock();
  seed_image(conn, "aaaaaaaaaaaa");
  seed_container(conn, "cccccccccccc", "aaaaaaaaaaaa");
  ASSERT_TRUE(conn.exec(
      "INSERT INTO volumes (name, dataset, mountpoint, created) VALUES "
      "('data', 'zroot/kleene/volumes/data', '/zroot/kleene/volumes/data', 'now');"
      "INSERT INTO mounts (container_id, type, source, destination, read_only, volume) VALUES "
      "('cccccccccccc', 'volume', 'data', '/data', 0, 'data'),"
      "('cccccccccccc', 'nullfs', '/srv/www', '/www', 1, NULL)"));
  EXPECT_EQ(conn.query_int("SELECT count(*) FROM mounts").value(), 2);

  // A volume mount must name its volume; a nullfs mount must not.
  EXPECT_EQ(conn.exec("INSERT INTO mounts (container_id, type, source, destination) VALUES "
                      "('cccccccccccc', 'volume', 'data', '/data2')")
                .error()
                .code,
            EINVAL);
  EXPECT_EQ(conn.exec("DELETE FROM volumes WHERE name = 'data'").error().code, EBUSY);

  ASSERT_TRUE(conn.exec("DELETE FROM containers WHERE id = 'cccccccccccc'"));
  EXPECT_EQ(conn.query_int("SELECT count(*) FROM mounts").value(), 0);
  EXPECT_TRUE(conn.exec("DELETE FROM volumes WHERE name = 'data'"));
}

TEST(Store, TransactionRollsBackOnScopeExit) {
  testing::TempDir tmp;
  auto store = open_ok(tmp.path() / "metadata.sqlite");
  auto conn = store->lock();
  {
    auto txn = conn.begin().value();
    seed_image(conn, "aaaaaaaaaaaa");
    EXPECT_EQ(conn.query_int("SELECT count(*) FROM images").value(), 1);
  }
  EXPECT_EQ(conn.query_int("SELECT count(*) FROM images").value(), 0);
  {
    auto txn = conn.begin().value();
    seed_image(conn, "bbbbbbbbbbbb");
    ASSERT_TRUE(txn.commit());
    EXPECT_FALSE(txn.commit());  // already finished
  }
  EXPECT_EQ(conn.query_int("SELECT count(*) FROM images").value(), 1);
  {
    auto txn = conn.begin().value();
    seed_image(conn, "dddddddddddd");
    txn.rollback();
  }
  EXPECT_EQ(conn.query_int("SELECT count(*) FROM images").value(), 1);
}

TEST(Store, SharedAcrossThreads) {
  testing::TempDir tmp;
  auto store = open_ok(tmp.path() / "metadata.sqlite");
  constexpr int kThreads = 4;
  constexpr int kRows = 50;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRows; ++i) {
        auto conn = store->lock();
        auto txn = conn.begin();
        auto st = conn.prepare(
            "INSERT INTO volumes (name, dataset, mountpoint, created) "
            "VALUES (?, 'd', 'm', 'now')");
        if (!txn || !st || !st->bind(1, "v" + std::to_string(t) + "_" + std::to_string(i)).run() ||
            !txn->commit()) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads)
    th.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(failures[t], 0);
  EXPECT_EQ(store->lock().query_int("SELECT count(*) FROM volumes").value(), kThreads * kRows);
}

}  // namespace
}  // namespace kleene::store
