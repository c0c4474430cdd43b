// receive_context: an uploaded tar in binary frames unpacked into a private directory, with
// the hostile-archive rules, and nothing left on disk after an error or the end of the build.
#include "api/build_context.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "archive_builder.hpp"
#include "fake_ws_session.hpp"

namespace kleene::api {
namespace {

namespace fs = std::filesystem;
using image::test::ArchiveBuilder;
using image::test::Compression;
using test::FakeWsSession;

class BuildContextTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/dev/shm/kl-upload-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    parent_ = (dir_ / "contexts").string();
    fs::create_directories(dir_ / "outside");
    std::ofstream(dir_ / "outside" / "secret") << "original";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Nothing below the parent: the upload left no trace.
  bool parent_empty() const { return !fs::exists(parent_) || fs::is_empty(parent_); }

  static mode_t mode_of(const fs::path& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }

  std::string secret() const {
    std::ifstream in(dir_ / "outside" / "secret");
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

  Error expect_error(FakeWsSession& ws,
                     const image::ExtractLimits& limits = default_context_limits()) {
    auto context = receive_context(ws, parent_, limits, std::chrono::milliseconds(50));
    EXPECT_FALSE(context) << "unpacked into " << context->path();
    EXPECT_TRUE(parent_empty());
    EXPECT_EQ(secret(), "original");
    return context ? Error{} : context.error();
  }

  fs::path dir_;
  std::string parent_;
};

TEST_F(BuildContextTest, UnpacksFilesDirectoriesAndSymlinksWithTheirModes) {
  ArchiveBuilder tar(Compression::none);
  tar.file("Dockerfile", "FROM scratch\n")
      .dir("app", 0750)
      .file("app/run.sh", "#!/bin/sh\necho hi\n", 0755)
      .file("app/secret.txt", "s", 0600)
      .symlink("app/current", "run.sh")
      .symlink("app/etc", "/etc");
  FakeWsSession ws;
  ws.stream(tar.finish(), 100);

  auto context = receive_context(ws, parent_);
  ASSERT_TRUE(context) << context.error().message;
  const fs::path root = context->path();
  EXPECT_EQ(root.parent_path(), fs::path(parent_));
  EXPECT_TRUE(root.filename().string().starts_with("context-"));
  EXPECT_EQ(mode_of(parent_), 0700u);
  EXPECT_EQ(mode_of(root), 0700u);
  EXPECT_EQ(mode_of(root / "Dockerfile"), 0644u);
  EXPECT_EQ(mode_of(root / "app"), 0750u);
  EXPECT_EQ(mode_of(root / "app" / "run.sh"), 0755u);
  EXPECT_EQ(mode_of(root / "app" / "secret.txt"), 0600u);
  std::ifstream in(root / "app" / "run.sh");
  EXPECT_EQ(std::string((std::istreambuf_iterator<char>(in)), {}), "#!/bin/sh\necho hi\n");
  EXPECT_EQ(fs::read_symlink(root / "app" / "current"), "run.sh");
  EXPECT_EQ(fs::read_symlink(root / "app" / "etc"), "/etc");  // kept as text, never followed
  struct stat st {};
  ASSERT_EQ(::fstatat(context->fd(), "app/run.sh", &st, AT_SYMLINK_NOFOLLOW), 0);
  EXPECT_EQ(st.st_mtime, 1700000000);
  EXPECT_EQ(ws.pending(), 0u);
}

TEST_F(BuildContextTest, TheDirectoryGoesWithTheObjectAndNotBefore) {
  ArchiveBuilder tar(Compression::none);
  tar.dir("a", 0555).dir("a/b", 0500).file("a/b/f", "x", 0400).symlink("a/out", "../../outside");
  tar.symlink("a/secret", (dir_ / "outside" / "secret").string());
  FakeWsSession ws;
  ws.stream(tar.finish(), 512);
  auto context = receive_context(ws, parent_);
  ASSERT_TRUE(context) << context.error().message;
  const std::string path = context->path();

  UploadedContext moved = std::move(*context);
  context->remove();  // the moved-from object owns nothing
  ASSERT_TRUE(fs::exists(path + "/a/b/f"));
  EXPECT_EQ(moved.path(), path);
  { UploadedContext last = std::move(moved); }
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(parent_empty());
  EXPECT_EQ(secret(), "original");  // symlinks were removed, not followed
  EXPECT_TRUE(fs::exists(dir_ / "outside"));
}

TEST_F(BuildContextTest, AnExistingParentIsKeptAndAMissingOneIsCreatedPrivate) {
  parent_ = (dir_ / "deep" / "er").string();
  FakeWsSession ws;
  ws.stream(ArchiveBuilder(Compression::none).file("f", "x").finish(), 1 << 20);
  {
    auto context = receive_context(ws, parent_);
    ASSERT_TRUE(context) << context.error().message;
    EXPECT_EQ(mode_of(dir_ / "deep"), 0700u);
    EXPECT_EQ(mode_of(parent_), 0700u);
  }
  EXPECT_TRUE(fs::is_directory(parent_));
  EXPECT_TRUE(parent_empty());
}

TEST_F(BuildContextTest, TwoUploadsGetTwoDirectories) {
  FakeWsSession ws;
  const auto tar = ArchiveBuilder(Compression::none).file("f", "x").finish();
  ws.stream(tar, 4096).stream(tar, 4096);
  auto first = receive_context(ws, parent_);
  auto second = receive_context(ws, parent_);
  ASSERT_TRUE(first && second);
  EXPECT_NE(first->path(), second->path());
}

TEST_F(BuildContextTest, ReadsUpToTheEndFrameAndNoFurther) {
  FakeWsSession ws;
  auto tar = ArchiveBuilder(Compression::none).file("f", "x").finish();
  tar += std::string(10240, '\0');  // more zero records after the end of the archive
  ws.stream(tar, 1000).text(R"({"after":true})");
  auto context = receive_context(ws, parent_);
  ASSERT_TRUE(context) << context.error().message;
  auto next = ws.read(std::nullopt);
  ASSERT_TRUE(next && *next);
  EXPECT_EQ((*next)->data, R"({"after":true})");
}

TEST_F(BuildContextTest, ADotDotMemberIsRefused) {
  FakeWsSession ws;
  ws.stream(
      ArchiveBuilder(Compression::none).file("ok", "x").file("../outside/secret", "pwn").finish(),
      700);
  const auto error = expect_error(ws);
  EXPECT_EQ(error.code, EPERM) << error.message;
  EXPECT_NE(error.message.find(".."), std::string::npos) << error.message;
}

TEST_F(BuildContextTest, AnAbsoluteMemberIsRefused) {
  FakeWsSession ws;
  ws.stream(ArchiveBuilder(Compression::none)
                .file((dir_ / "outside" / "secret").string(), "pwn")
                .finish(),
            700);
  EXPECT_EQ(expect_error(ws).code, EPERM);
}

TEST_F(BuildContextTest, WritingThroughASymlinkIsRefused) {
  FakeWsSession ws;
  ws.stream(ArchiveBuilder(Compression::none)
                .symlink("escape", (dir_ / "outside").string())
                .file("escape/secret", "pwn")
                .finish(),
            700);
  const auto error = expect_error(ws);
  EXPECT_EQ(error.code, EPERM) << error.message;
  EXPECT_NE(error.message.find("symlink"), std::string::npos) << error.message;
}

TEST_F(BuildContextTest, ARelativeSymlinkOutIsRefusedToo) {
  FakeWsSession ws;
  ws.stream(ArchiveBuilder(Compression::none)
                .symlink("up", "../../outside")
                .file("up/secret", "pwn")
                .finish(),
            700);
  EXPECT_EQ(expect_error(ws).code, EPERM);
}

TEST_F(BuildContextTest, AHardlinkOutIsRefused) {
  FakeWsSession ws;
  ws.stream(ArchiveBuilder(Compression::none).hardlink("h", "../outside/secret").finish(), 700);
  EXPECT_EQ(expect_error(ws).code, EPERM);
}

TEST_F(BuildContextTest, DeviceNodesAreSkipped) {
  FakeWsSession ws;
  ws.stream(ArchiveBuilder(Compression::none)
                .device("null", S_IFCHR, 1, 3)
                .device("sda", S_IFBLK, 8, 0)
                .file("f", "x")
                .finish(),
            700);
  auto context = receive_context(ws, parent_);
  ASSERT_TRUE(context) << context.error().message;
  EXPECT_FALSE(fs::exists(fs::path(context->path()) / "null"));
  EXPECT_FALSE(fs::exists(fs::path(context->path()) / "sda"));
  EXPECT_TRUE(fs::exists(fs::path(context->path()) / "f"));
}

TEST_F(BuildContextTest, ATextFrameIsRefused) {
  FakeWsSession ws;
  const auto tar = ArchiveBuilder(Compression::none).file("f", std::string(5000, 'x')).finish();
  ws.binary(tar.substr(0, 1024)).text("oops").binary(tar.substr(1024)).binary("");
  const auto error = expect_error(ws);
  EXPECT_EQ(error.code, EINVAL);
  EXPECT_NE(error.message.find("text frame"), std::string::npos) << error.message;
}

TEST_F(BuildContextTest, AClientThatGoesAwayMidStreamLeavesNothing) {
  FakeWsSession ws;
  const auto tar = ArchiveBuilder(Compression::none)
                       .dir("d")
                       .file("d/a", std::string(3000, 'a'))
                       .file("d/b", std::string(3000, 'b'))
                       .finish();
  ws.binary(tar.substr(0, 4096)).close_client();
  const auto error = expect_error(ws);
  EXPECT_EQ(error.code, ECONNRESET);
  EXPECT_NE(error.message.find("closed the connection"), std::string::npos) << error.message;
}

TEST_F(BuildContextTest, ASilentClientTimesOut) {
  FakeWsSession ws;
  const auto tar = ArchiveBuilder(Compression::none).file("f", std::string(5000, 'x')).finish();
  ws.binary(tar.substr(0, 2048));
  const auto error = expect_error(ws);
  EXPECT_EQ(error.code, ETIMEDOUT);
  EXPECT_NE(error.message.find("no build context data"), std::string::npos) << error.message;
}

TEST_F(BuildContextTest, AnEndFrameInTheMiddleOfTheTarIsACorruptContext) {
  FakeWsSession ws;
  const auto tar = ArchiveBuilder(Compression::none).file("f", std::string(5000, 'x')).finish();
  ws.binary(tar.substr(0, 2048)).binary("");
  EXPECT_EQ(expect_error(ws).code, EILSEQ);
}

TEST_F(BuildContextTest, SomethingThatIsNotATarIsRefused) {
  FakeWsSession ws;
  ws.stream(std::string(4096, 'z'), 1024);
  EXPECT_EQ(expect_error(ws).code, EILSEQ);
}

TEST_F(BuildContextTest, MoreFileDataThanTheLimitIsRefused) {
  auto limits = default_context_limits();
  limits.max_total_size = 64 * 1024;
  FakeWsSession ws;
  ws.stream(ArchiveBuilder(Compression::none).file("big", std::string(100 * 1024, 'b')).finish(),
            1 << 20);
  const auto error = expect_error(ws, limits);
  EXPECT_EQ(error.code, EFBIG) << error.message;
}

TEST_F(BuildContextTest, AStreamLongerThanTheLimitIsRefused) {
  auto limits = default_context_limits();
  limits.max_total_size = 64 * 1024;
  FakeWsSession ws;
  auto tar = ArchiveBuilder(Compression::none).file("small", "x").finish();
  tar += std::string(100 * 1024, '\0');  // padding that never ends
  ws.stream(tar, 8192);
  const auto error = expect_error(ws, limits);
  EXPECT_EQ(error.code, EFBIG) << error.message;
  EXPECT_NE(error.message.find("upload limit"), std::string::npos) << error.message;
}

TEST_F(BuildContextTest, MoreMembersThanTheLimitAreRefused) {
  auto limits = default_context_limits();
  limits.max_entries = 3;
  ArchiveBuilder tar(Compression::none);
  for (int i = 0; i < 5; ++i)
    tar.file("f" + std::to_string(i), "x");
  FakeWsSession ws;
  ws.stream(tar.finish(), 1 << 20);
  EXPECT_EQ(expect_error(ws, limits).code, EFBIG);
}

TEST_F(BuildContextTest, ADeepTreeIsRemovedWithAFewDescriptors) {
  ArchiveBuilder tar(Compression::none);
  std::string path;
  for (int i = 0; i < 1500; ++i) {  // deeper than the default 1024 open files
    path += i == 0 ? "d" : "/d";
    tar.dir(path, 0700);
  }
  tar.file(path + "/f", "x");
  FakeWsSession ws;
  ws.stream(tar.finish(), 1 << 20);
  auto context = receive_context(ws, parent_);
  ASSERT_TRUE(context) << context.error().message;
  EXPECT_TRUE(fs::exists(context->path() + "/" + path + "/f"));
  rlimit saved{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit few = saved;
  few.rlim_cur = 64;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &few), 0);
  context->remove();
  ::setrlimit(RLIMIT_NOFILE, &saved);
  EXPECT_TRUE(parent_empty());
}

TEST(BuildContextLimits, UploadsAreCappedAt8GiBWithoutDevices) {
  const auto limits = default_context_limits();
  EXPECT_EQ(limits.max_total_size, 8ull << 30);
  EXPECT_FALSE(limits.allow_safe_devices);
}

}  // namespace
}  // namespace kleene::api
