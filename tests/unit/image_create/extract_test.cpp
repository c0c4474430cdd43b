// Extraction of crafted, partly hostile tarballs into a temp dir.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fstream>

#include "archive_builder.hpp"
#include "image/create/extract.hpp"
#include "image/create/file_source.hpp"
#include "temp_tree.hpp"

namespace kleene::image::test {
namespace {

class ExtractTest : public ::testing::Test {
 protected:
  Result<ExtractStats> extract(const std::string& bytes, const ExtractLimits& limits = {}) {
    const auto file = tree_.dir() / "archive";
    write_file(file, bytes);
    auto source = open_file(file);
    if (!source) return std::unexpected(source.error());
    auto root = tree_.root_fd();
    ExtractCallbacks callbacks;
    callbacks.warning = [this](const std::string& w) { warnings_.push_back(w); };
    auto result = extract_archive(**source, root.get(), limits, callbacks);
    std::filesystem::remove(file);
    return result;
  }

  std::string read(const std::string& rel) {
    std::ifstream in(tree_.root() / rel);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

  TempTree tree_;
  std::set<std::string> before_ = tree_.outside_state();
  std::vector<std::string> warnings_;
};

class ExtractFormats : public ExtractTest, public ::testing::WithParamInterface<Compression> {};

TEST_P(ExtractFormats, UnpacksFilesDirectoriesAndLinks) {
  ArchiveBuilder b(GetParam());
  b.dir("./").dir("./etc").file("./etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  b.dir("bin").file("bin/busybox", "ELF", 04755).symlink("bin/sh", "busybox");
  b.hardlink("bin/ash", "bin/busybox").dir("ro", 0555).file("ro/inside", "x", 0444);
  b.file("deep/missing/parents/f", "auto");
  auto stats = extract(b.finish());
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(read("etc/passwd"), "root:x:0:0::/root:/bin/sh\n");
  EXPECT_EQ(read("deep/missing/parents/f"), "auto");
  EXPECT_EQ(std::filesystem::read_symlink(tree_.root() / "bin/sh"), "busybox");
  struct stat a {
  }, c{};
  ASSERT_EQ(::stat((tree_.root() / "bin/busybox").c_str(), &a), 0);
  ASSERT_EQ(::stat((tree_.root() / "bin/ash").c_str(), &c), 0);
  EXPECT_EQ(a.st_ino, c.st_ino);
  EXPECT_EQ(a.st_mode & 07777, 04755);
  ASSERT_EQ(::stat((tree_.root() / "ro").c_str(), &a), 0);
  EXPECT_EQ(a.st_mode & 07777, 0555);
  EXPECT_EQ(a.st_mtime, 1700000000);
  EXPECT_EQ(stats->entries, 9u);  // "." is the root itself
  EXPECT_EQ(tree_.outside_state(), before_);
}

INSTANTIATE_TEST_SUITE_P(Compressions, ExtractFormats,
                         ::testing::Values(Compression::none, Compression::gzip, Compression::xz,
                                           Compression::zstd, Compression::bzip2));

TEST_F(ExtractTest, RejectsDotDotEscape) {
  ArchiveBuilder b;
  b.file("ok", "1").file("a/../../outside/pwned", "x");
  auto r = extract(b.finish());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EPERM);
  EXPECT_NE(r.error().message.find(".."), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(tree_.outside() / "pwned"));
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_F(ExtractTest, RejectsAbsolutePath) {
  ArchiveBuilder b;
  b.file((tree_.outside() / "pwned").string(), "x");
  auto r = extract(b.finish());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EPERM);
  EXPECT_NE(r.error().message.find("absolute path"), std::string::npos);
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_F(ExtractTest, RefusesFileThroughAbsoluteSymlink) {
  ArchiveBuilder b;
  b.symlink("evil", tree_.outside().string()).file("evil/pwned", "x");
  auto r = extract(b.finish());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ELOOP) << r.error().message;
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_F(ExtractTest, RefusesFileThroughRelativeSymlink) {
  ArchiveBuilder b;
  b.dir("d").symlink("d/up", "../../outside").file("d/up/pwned", "x");
  auto r = extract(b.finish());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ELOOP) << r.error().message;
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_F(ExtractTest, ReplacesALeafSymlinkInsteadOfWritingThroughIt) {
  ArchiveBuilder b;
  b.symlink("target", (tree_.outside() / "secret").string()).file("target", "new");
  auto r = extract(b.finish());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(std::filesystem::is_symlink(tree_.root() / "target"));
  EXPECT_EQ(read("target"), "new");
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_F(ExtractTest, RefusesHardlinkOutOfTheTree) {
  for (const std::string& target :
       {std::string("../outside/secret"), (tree_.outside() / "secret").string()}) {
    ArchiveBuilder b;
    b.hardlink("h", target);
    auto r = extract(b.finish());
    ASSERT_FALSE(r) << target;
    EXPECT_EQ(r.error().code, EPERM) << r.error().message;
  }
  ArchiveBuilder through;
  through.symlink("s", tree_.outside().string()).hardlink("h", "s/secret");
  auto r = extract(through.finish());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ELOOP) << r.error().message;
  EXPECT_FALSE(std::filesystem::exists(tree_.root() / "h"));
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_F(ExtractTest, HardlinkToAMissingMemberFails) {
  ArchiveBuilder b;
  b.hardlink("h", "nowhere");
  auto r = extract(b.finish());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT) << r.error().message;
}

TEST_F(ExtractTest, CreatesOnlySafeDeviceNodes) {
  ArchiveBuilder b;
  b.dir("dev").device("dev/null", AE_IFCHR, 1, 3).device("dev/sda", AE_IFBLK, 8, 0);
  b.device("dev/mem", AE_IFCHR, 1, 1).device("dev/fifo", AE_IFIFO, 0, 0);
  auto r = extract(b.finish());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(std::filesystem::exists(tree_.root() / "dev/sda"));
  EXPECT_FALSE(std::filesystem::exists(tree_.root() / "dev/mem"));
  EXPECT_TRUE(std::filesystem::is_fifo(tree_.root() / "dev/fifo"));
  if (::geteuid() == 0) {
    struct stat st {};
    ASSERT_EQ(::lstat((tree_.root() / "dev/null").c_str(), &st), 0);
    EXPECT_TRUE(S_ISCHR(st.st_mode));
    EXPECT_EQ(st.st_rdev, makedev(1, 3));
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_EQ(warnings_.size(), 2u);
  }
  ASSERT_FALSE(warnings_.empty());
  EXPECT_NE(warnings_[0].find("skipping block device 'dev/sda' (8:0)"), std::string::npos);
}

TEST_F(ExtractTest, NoDevicesWhenDisallowed) {
  ArchiveBuilder b;
  b.device("null", AE_IFCHR, 1, 3);
  ExtractLimits limits;
  limits.allow_safe_devices = false;
  auto r = extract(b.finish(), limits);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(std::filesystem::exists(tree_.root() / "null"));
  EXPECT_EQ(r->skipped, 1u);
}

TEST_F(ExtractTest, EnforcesTheSizeCap) {
  ArchiveBuilder b;
  b.file("small", "ok").zeros("big", 2 << 20);
  ExtractLimits limits;
  limits.max_total_size = 1 << 20;
  auto r = extract(b.finish(), limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EFBIG);
  EXPECT_NE(r.error().message.find("size limit"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(tree_.root() / "big"));
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_F(ExtractTest, StopsACompressionBomb) {
  ArchiveBuilder b(Compression::xz);
  b.zeros("bomb", 64 << 20);
  ExtractLimits limits;
  limits.ratio_grace = 4 << 20;
  auto r = extract(b.finish(), limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EFBIG);
  EXPECT_NE(r.error().message.find("compression ratio exceeds 100:1"), std::string::npos);
}

TEST_F(ExtractTest, CapsTheNumberOfMembers) {
  ArchiveBuilder b;
  for (int i = 0; i < 5; ++i)
    b.file("f" + std::to_string(i), "");
  ExtractLimits limits;
  limits.max_entries = 3;
  auto r = extract(b.finish(), limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EFBIG);
}

TEST_F(ExtractTest, RejectsGarbageAndTruncatedArchives) {
  auto garbage = extract(std::string(4096, 'x'));
  ASSERT_FALSE(garbage);
  EXPECT_EQ(garbage.error().code, EILSEQ);
  EXPECT_NE(garbage.error().message.find("corrupt archive"), std::string::npos);

  ArchiveBuilder b;
  b.file("a", std::string(100000, 'a')).file("b", "b");
  std::string bytes = b.finish();
  auto truncated = extract(bytes.substr(0, bytes.size() / 2));
  ASSERT_FALSE(truncated);
  EXPECT_EQ(truncated.error().code, EILSEQ) << truncated.error().message;

  auto empty = extract("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(tree_.outside_state(), before_);
}

TEST_F(ExtractTest, ReportsProgressAndCanBeCancelled) {
  ArchiveBuilder b;
  for (int i = 0; i < 20; ++i)
    b.file("f" + std::to_string(i), "data");
  const auto file = tree_.dir() / "archive";
  write_file(file, b.finish());
  auto source = open_file(file);
  ASSERT_TRUE(source);
  auto root = tree_.root_fd();
  std::vector<Progress> seen;
  ExtractLimits limits;
  limits.progress_interval = std::chrono::milliseconds(0);
  ExtractCallbacks callbacks;
  callbacks.progress = [&](const Progress& p) {
    seen.push_back(p);
    return seen.size() < 5;
  };
  auto r = extract_archive(**source, root.get(), limits, callbacks);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ECANCELED);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_LT(seen.back().files, 20u);
  EXPECT_LE(seen.front().files, seen.back().files);
  EXPECT_FALSE(std::filesystem::exists(tree_.root() / "f19"));
  ASSERT_TRUE(seen.back().total);
  EXPECT_EQ(*seen.back().total, std::filesystem::file_size(file));
}

}  // namespace
}  // namespace kleene::image::test
