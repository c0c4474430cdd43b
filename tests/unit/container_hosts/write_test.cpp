// hosts::write on a real directory tree under /dev/shm, with the symlinks a hostile image
// could ship: whatever they point at, nothing is written outside the root.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "container/hosts_file.hpp"

namespace kleene::container::hosts {
namespace {

namespace fs = std::filesystem;

const std::string kContent = "# written by kleened; changes are overwritten\n10.0.0.2\tweb\n";

std::string read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void put(const fs::path& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

// Every entry under `dir`, recursively, never following a symlink ("etc", "etc/hosts", ...).
void walk(const fs::path& dir, const fs::path& top, std::vector<std::string>& out) {
  for (const auto& e : fs::directory_iterator(dir)) {
    out.push_back(e.path().lexically_relative(top).string());
    if (fs::is_directory(fs::symlink_status(e.path()))) walk(e.path(), top, out);
  }
}

std::vector<std::string> tree(const fs::path& dir) {
  std::vector<std::string> out;
  walk(dir, dir, out);
  std::ranges::sort(out);
  return out;
}

class HostsWrite : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = "/dev/shm/kleene-hosts-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    base = templ;
    root = base / "root";
    outside = base / "outside";
    fs::create_directories(root);
    fs::create_directories(outside);
  }
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(base, ignored);
  }

  // Nothing was written next to the root or in the directory a link pointed at.
  void expect_outside_untouched() {
    EXPECT_EQ(tree(outside), std::vector<std::string>{});
    EXPECT_FALSE(fs::exists(fs::symlink_status(base / "hosts")));
    EXPECT_FALSE(fs::exists(fs::symlink_status(base.parent_path() / "hosts")));
  }

  fs::path base, root, outside;
};

TEST_F(HostsWrite, WritesAFreshFile) {
  fs::create_directory(root / "etc");
  const mode_t old_umask = ::umask(077);
  auto written = write(root, kContent);
  ::umask(old_umask);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(read(root / "etc/hosts"), kContent);
  struct stat st {};
  ASSERT_EQ(::lstat((root / "etc/hosts").c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0644U);
  EXPECT_EQ(tree(root), (std::vector<std::string>{"etc", "etc/hosts"}));
}

TEST_F(HostsWrite, ReplacesAnExistingFileAtomically) {
  fs::create_directory(root / "etc");
  put(root / "etc/hosts", "old\n");
  std::ifstream held(root / "etc/hosts");  // a reader that opened the file before the update
  struct stat before {};
  ASSERT_EQ(::stat((root / "etc/hosts").c_str(), &before), 0);

  auto written = write(root, kContent);
  ASSERT_TRUE(written) << written.error().message;

  struct stat after {};
  ASSERT_EQ(::stat((root / "etc/hosts").c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);  // renamed over, not rewritten in place
  EXPECT_EQ(read(root / "etc/hosts"), kContent);
  std::string line;
  std::getline(held, line);
  EXPECT_EQ(line, "old");
  EXPECT_EQ(tree(root), (std::vector<std::string>{"etc", "etc/hosts"}));
}

TEST_F(HostsWrite, SameContentIsLeftAlone) {
  fs::create_directory(root / "etc");
  ASSERT_TRUE(write(root, kContent));
  struct stat before {};
  ASSERT_EQ(::stat((root / "etc/hosts").c_str(), &before), 0);
  ASSERT_TRUE(write(root, kContent));
  struct stat after {};
  ASSERT_EQ(::stat((root / "etc/hosts").c_str(), &after), 0);
  EXPECT_EQ(before.st_ino, after.st_ino);  // nothing written
  // Other content (here: one byte more) is written again.
  ASSERT_TRUE(write(root, std::string(kContent) + "#"));
  ASSERT_EQ(::stat((root / "etc/hosts").c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
  // A symlink named hosts never counts as the same content, even when its target matches.
  put(root / "target", std::string(kContent));
  fs::remove(root / "etc/hosts");
  fs::create_symlink("../target", root / "etc/hosts");
  ASSERT_TRUE(write(root, kContent));
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(root / "etc/hosts")));
}

TEST_F(HostsWrite, MissingEtcIsNothingToDo) {
  auto written = write(root, kContent);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(tree(root), std::vector<std::string>{});
  expect_outside_untouched();
}

TEST_F(HostsWrite, DanglingEtcLinkIsNothingToDo) {
  fs::create_symlink("/kleene-missing-dir", root / "etc");
  auto written = write(root, kContent);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(tree(root), std::vector<std::string>{"etc"});
  EXPECT_FALSE(fs::exists("/kleene-missing-dir"));
}

TEST_F(HostsWrite, AbsoluteEtcLinkStaysInsideTheRoot) {
  // /etc -> <outside>: resolved as <root>/<outside>, which does not exist in the image.
  fs::create_symlink(outside, root / "etc");
  auto written = write(root, kContent);
  ASSERT_TRUE(written) << written.error().message;
  expect_outside_untouched();

  // Once the image has that path, the file lands there, still inside the root.
  const fs::path mirrored = root / outside.relative_path();
  fs::create_directories(mirrored);
  written = write(root, kContent);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(read(mirrored / "hosts"), kContent);
  expect_outside_untouched();
}

TEST_F(HostsWrite, DotDotEtcLinkStopsAtTheRoot) {
  fs::create_symlink("../../../../../../..", root / "etc");
  auto written = write(root, kContent);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(read(root / "hosts"), kContent);
  expect_outside_untouched();
}

TEST_F(HostsWrite, SlashEtcLinkIsTheRoot) {
  fs::create_symlink("/", root / "etc");
  auto written = write(root, kContent);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(read(root / "hosts"), kContent);
  expect_outside_untouched();
}

TEST_F(HostsWrite, ProcEtcLinkDoesNotReachTheHost) {
  const std::string host_hosts = read("/etc/hosts");
  fs::create_symlink("/proc/1/root/etc", root / "etc");
  auto written = write(root, kContent);
  ASSERT_TRUE(written) << written.error().message;  // no /proc in the image: no /etc
  EXPECT_EQ(read("/etc/hosts"), host_hosts);
  EXPECT_EQ(tree(root), std::vector<std::string>{"etc"});
}

TEST_F(HostsWrite, HostsLinkIsReplacedNotFollowed) {
  fs::create_directory(root / "etc");
  put(outside / "victim", "precious\n");
  fs::create_symlink(outside / "victim", root / "etc/hosts");
  auto written = write(root, kContent);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(root / "etc/hosts")));
  EXPECT_EQ(read(root / "etc/hosts"), kContent);
  EXPECT_EQ(read(outside / "victim"), "precious\n");
  EXPECT_EQ(tree(outside), std::vector<std::string>{"victim"});
}

TEST_F(HostsWrite, RelativeHostsLinkIsReplacedNotFollowed) {
  fs::create_directory(root / "etc");
  put(outside / "victim", "precious\n");
  fs::create_symlink("../../outside/victim", root / "etc/hosts");
  ASSERT_EQ(read(root / "etc/hosts"), "precious\n");  // the link does point outside
  auto written = write(root, kContent);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_TRUE(fs::is_regular_file(fs::symlink_status(root / "etc/hosts")));
  EXPECT_EQ(read(outside / "victim"), "precious\n");
}

TEST_F(HostsWrite, EtcAsAFileIsAnError) {
  put(root / "etc", "not a directory\n");
  auto written = write(root, kContent);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ENOTDIR);
  EXPECT_NE(written.error().message.find("/etc"), std::string::npos) << written.error().message;
  EXPECT_EQ(tree(root), std::vector<std::string>{"etc"});
  EXPECT_EQ(read(root / "etc"), "not a directory\n");
}

TEST_F(HostsWrite, FailedRenameLeavesNoTempFile) {
  // A directory named hosts cannot be renamed over: the temporary file must go.
  fs::create_directories(root / "etc/hosts");
  auto written = write(root, kContent);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, EISDIR) << written.error().message;
  EXPECT_NE(written.error().message.find("rename"), std::string::npos) << written.error().message;
  EXPECT_EQ(tree(root), (std::vector<std::string>{"etc", "etc/hosts"}));
}

TEST_F(HostsWrite, MissingRootfsIsAnError) {
  auto written = write(base / "nope", kContent);
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, ENOENT);
  EXPECT_NE(written.error().message.find((base / "nope").string()), std::string::npos);
}

TEST_F(HostsWrite, RendersAndWritesTogether) {
  fs::create_directory(root / "etc");
  const auto content = render({{"10.0.0.2", {"web"}}}, {{"10.0.0.3", {"db", "$(id)"}}});
  auto written = write(root, content);
  ASSERT_TRUE(written) << written.error().message;
  EXPECT_EQ(read(root / "etc/hosts"),
            "# written by kleened; changes are overwritten\n"
            "127.0.0.1\tlocalhost\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n"
            "10.0.0.2\tweb\n"
            "10.0.0.3\tdb\n");
}

}  // namespace
}  // namespace kleene::container::hosts
