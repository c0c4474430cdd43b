#include "store/statement.hpp"

#include <gtest/gtest.h>

#include "store/store.hpp"
#include "temp_dir.hpp"

namespace kleene::store {
namespace {

class StatementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = Store::open(tmp_.path() / "s.sqlite",
                              std::vector<std::string_view>{"CREATE TABLE t (a, b, c, d)"});
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
  }
  testing::TempDir tmp_;
  std::unique_ptr<Store> store_;
};

TEST_F(StatementTest, BindAndReadBackEveryType) {
  auto conn = store_->lock();
  auto ins = conn.prepare("INSERT INTO t VALUES (?, ?, ?, ?)").value();
  ASSERT_TRUE(ins.bind(1, std::string("text\0with nul", 13))
                  .bind(2, std::int64_t{1} << 40)
                  .bind(3, 2.5)
                  .bind(4, nullptr)
                  .run());
  ins.reset();
  ASSERT_TRUE(
      ins.bind(1, "x").bind(2, true).bind(3, std::optional<std::string>{}).bind(4, 7).run());
  EXPECT_EQ(conn.last_insert_rowid(), 2);
  EXPECT_EQ(conn.changes(), 1);

  auto sel = conn.prepare("SELECT a, b, c, d FROM t ORDER BY rowid").value();
  ASSERT_TRUE(sel.step().value());
  EXPECT_EQ(sel.column_count(), 4);
  EXPECT_EQ(sel.text(0), std::string("text\0with nul", 13));
  EXPECT_EQ(sel.int64(1), std::int64_t{1} << 40);
  EXPECT_EQ(sel.real(2), 2.5);
  EXPECT_TRUE(sel.is_null(3));
  EXPECT_EQ(sel.optional_text(3), std::nullopt);
  EXPECT_EQ(sel.text(3), "");
  ASSERT_TRUE(sel.step().value());
  EXPECT_TRUE(sel.boolean(1));
  EXPECT_TRUE(sel.is_null(2));
  EXPECT_EQ(sel.int64(3), 7);
  EXPECT_FALSE(sel.step().value());
}

TEST_F(StatementTest, NamedParameters) {
  auto conn = store_->lock();
  auto ins = conn.prepare("INSERT INTO t (a, b) VALUES (:name, :n)").value();
  ASSERT_TRUE(ins.bind(":name", "web").bind(":n", 3).run());
  EXPECT_EQ(conn.query_int("SELECT b FROM t WHERE a = 'web'").value(), 3);

  auto bad = conn.prepare("INSERT INTO t (a) VALUES (:a)").value();
  const auto r = bad.bind(":nope", 1).run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
}

TEST_F(StatementTest, BindErrorReportedOnRun) {
  auto conn = store_->lock();
  auto ins = conn.prepare("INSERT INTO t (a) VALUES (?)").value();
  const auto r = ins.bind(5, "out of range").run();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("bind parameter 5"), std::string::npos) << r.error().message;
}

TEST_F(StatementTest, PrepareErrorNamesTheSql) {
  auto conn = store_->lock();
  const auto r = conn.prepare("SELEC nonsense");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("SELEC nonsense"), std::string::npos) << r.error().message;
  EXPECT_EQ(conn.query_int("SELECT a FROM t WHERE 0").error().code, ENOENT);
}

}  // namespace
}  // namespace kleene::store
