#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "container/populate.hpp"
#include "temp_dir.hpp"

namespace kleene::container {
namespace {

namespace fs = std::filesystem;

void write(const fs::path& path, std::string_view text) {
  std::ofstream(path) << text;
}

std::string read(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class PopulateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(rootfs / "srv/data/sub");
    fs::create_directories(volume);
    write(rootfs / "srv/data/a.txt", "A");
    write(rootfs / "srv/data/sub/b.txt", "B");
    ::chmod((rootfs / "srv/data/a.txt").c_str(), 0640);
    fs::create_symlink("/etc/shadow", rootfs / "srv/data/link");
  }
  kleene::testing::TempDir dir;
  fs::path rootfs = dir.path() / "rootfs";
  fs::path volume = dir.path() / "volume";
};

TEST_F(PopulateTest, CopiesTreeWithModesAndLinksAsLinks) {
  ASSERT_TRUE(directory_is_empty(volume).value());
  auto done = populate_from_rootfs(rootfs, "/srv/data", volume);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(read(volume / "a.txt"), "A");
  EXPECT_EQ(read(volume / "sub/b.txt"), "B");
  EXPECT_EQ(fs::status(volume / "a.txt").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  ASSERT_TRUE(fs::is_symlink(volume / "link"));
  EXPECT_EQ(fs::read_symlink(volume / "link"), "/etc/shadow");
  EXPECT_FALSE(directory_is_empty(volume).value());
}

TEST_F(PopulateTest, MissingDestinationCopiesNothing) {
  ASSERT_TRUE(populate_from_rootfs(rootfs, "/does/not/exist", volume));
  EXPECT_TRUE(directory_is_empty(volume).value());
}

TEST_F(PopulateTest, SymlinkedDestinationDoesNotLeaveTheRoot) {
  // /srv/escape -> the host's directory outside the rootfs: never followed out.
  fs::create_directories(dir.path() / "host-secret");
  write(dir.path() / "host-secret/key", "secret");
  fs::create_symlink(dir.path() / "host-secret", rootfs / "srv/escape");
  fs::create_symlink("../../..", rootfs / "srv/up");
  ASSERT_TRUE(populate_from_rootfs(rootfs, "/srv/escape", volume));
  EXPECT_FALSE(fs::exists(volume / "key"));
  ASSERT_TRUE(populate_from_rootfs(rootfs, "/srv/up/host-secret", volume));
  EXPECT_FALSE(fs::exists(volume / "key"));
  EXPECT_TRUE(directory_is_empty(volume).value());
}

TEST_F(PopulateTest, DotDotStaysInside) {
  auto done = populate_from_rootfs(rootfs, "/../../srv/data/sub", volume);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_EQ(read(volume / "b.txt"), "B");
}

}  // namespace
}  // namespace kleene::container
