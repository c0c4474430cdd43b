// Storage::copy: an independent full copy of a dataset or snapshot, leaving no helpers behind.
#include <sys/stat.h>

#include <fstream>

#include "fixture.hpp"

namespace kleene::storage::testing {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class CopyTest : public StorageTest {
 protected:
  fs::path make_source() {
    EXPECT_TRUE(storage_->create_dataset(ds("image/src")));
    const fs::path dir = storage_->mountpoint(ds("image/src")).value();
    fs::create_directories(dir / "etc");
    std::ofstream(dir / "etc/hostname") << "kleene\n";
    ::chmod((dir / "etc/hostname").c_str(), 0640);
    fs::create_symlink("etc/hostname", dir / "link");
    return dir;
  }
};

TEST_F(CopyTest, CopiesADatasetIndependently) {
  const fs::path source = make_source();
  ASSERT_TRUE(storage_->copy(ds("image/src"), ds("image/dst")));
  const fs::path target = storage_->mountpoint(ds("image/dst")).value();
  EXPECT_EQ(read_file(target / "etc/hostname"), "kleene\n");
  EXPECT_EQ(fs::status(target / "etc/hostname").permissions(),
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read);
  EXPECT_TRUE(fs::is_symlink(target / "link"));
  EXPECT_EQ(fs::read_symlink(target / "link"), "etc/hostname");

  std::ofstream(source / "etc/hostname") << "changed\n";
  EXPECT_EQ(read_file(target / "etc/hostname"), "kleene\n");
  // A copy, not a clone: the source can go while the copy stays.
  ASSERT_TRUE(storage_->destroy(ds("image/src"), true));
  EXPECT_EQ(read_file(target / "etc/hostname"), "kleene\n");
  ASSERT_TRUE(storage_->destroy(ds("image/dst")));
}

TEST_F(CopyTest, CopiesASnapshot) {
  const fs::path source = make_source();
  ASSERT_TRUE(storage_->snapshot(ds("image/src@image")));
  std::ofstream(source / "later") << "not in the snapshot";
  ASSERT_TRUE(storage_->copy(ds("image/src@image"), ds("image/dst")));
  const fs::path target = storage_->mountpoint(ds("image/dst")).value();
  EXPECT_EQ(read_file(target / "etc/hostname"), "kleene\n");
  EXPECT_FALSE(fs::exists(target / "later"));
  EXPECT_TRUE(storage_->list_clones(ds("image/src@image")).value().empty());
  ASSERT_TRUE(storage_->destroy(ds("image/dst")));
  ASSERT_TRUE(storage_->destroy(ds("image/src"), true));
}

TEST_F(CopyTest, MissingSourceOrExistingTargetFailsCleanly) {
  auto missing = storage_->copy(ds("image/none"), ds("image/dst"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT) << missing.error().message;
  missing = storage_->copy(ds("image/none@x"), ds("image/dst"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT) << missing.error().message;

  make_source();
  ASSERT_TRUE(storage_->create_dataset(ds("image/dst")));
  auto taken = storage_->copy(ds("image/src"), ds("image/dst"));
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().code, EEXIST) << taken.error().message;
  ASSERT_TRUE(storage_->destroy(ds("image/dst")));

  auto no_parent = storage_->copy(ds("image/src"), ds("image/nothere/dst"));
  ASSERT_FALSE(no_parent);
  EXPECT_EQ(no_parent.error().code, ENOENT) << no_parent.error().message;
  ASSERT_TRUE(storage_->destroy(ds("image/src"), true));
}

}  // namespace
}  // namespace kleene::storage::testing
