// The TestPool fixture itself: a pool that exists, lists what is made in it, and is gone after.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/zfs_pool.hpp"

namespace kleene::test {
namespace {

TEST(TestPool, CreatesListsAndDestroysAPool) {
  std::string name;
  std::filesystem::path dir;
  {
    auto pool = TestPool::create();
    ASSERT_TRUE(pool) << pool.error().message;
    name = (*pool)->name();
    dir = (*pool)->dir();
    EXPECT_TRUE(name.starts_with("kltest"));
    EXPECT_EQ(name.size(), 12u);
    EXPECT_TRUE(std::filesystem::is_directory((*pool)->mountpoint()));
    EXPECT_TRUE((*pool)->list_all().empty());

    ASSERT_TRUE((*pool)->zfs({"create", (*pool)->dataset("a")}));
    ASSERT_TRUE((*pool)->zfs({"snapshot", (*pool)->dataset("a@s")}));
    EXPECT_EQ((*pool)->list_all(),
              (std::vector<std::string>{(*pool)->dataset("a"), (*pool)->dataset("a@s")}));
    EXPECT_TRUE(std::filesystem::is_directory((*pool)->mountpoint() / "a"));
  }
  EXPECT_FALSE(std::filesystem::exists(dir));
  auto pools = run_tool({"/usr/sbin/zpool", "list", "-H", "-o", "name"});
  // No answer at all is fine too: the fixture stopped the zfs-fuse it had started.
  if (pools) {
    EXPECT_EQ(pools->find(name), std::string::npos);
  }
}

TEST(TestPool, TwoPoolsAtOnceAreSeparate) {
  auto first = TestPool::create();
  auto second = TestPool::create();
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_NE((*first)->name(), (*second)->name());
  ASSERT_TRUE((*first)->zfs({"create", (*first)->dataset("x")}));
  EXPECT_TRUE((*second)->list_all().empty());
}

}  // namespace
}  // namespace kleene::test
