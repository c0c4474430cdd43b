// Fetching archives over file:// and http:// (a server on 127.0.0.1, no outside network).
#include <gtest/gtest.h>

#include <fstream>

#include "archive_builder.hpp"
#include "http_server.hpp"
#include "image/create/beneath.hpp"
#include "image/create/extract.hpp"
#include "image/create/file_source.hpp"
#include "image/create/progress.hpp"
#include "temp_tree.hpp"

namespace kleene::image::test {
namespace {

std::string small_archive() {
  ArchiveBuilder b;
  b.dir("etc").file("etc/hostname", "kleene\n").symlink("bin/sh", "busybox");
  return b.finish();
}

TEST(FetchTest, HttpStreamsIntoTheExtractor) {
  HttpServer server;
  const std::string bytes = small_archive();
  server.serve("/base.tar.gz", bytes);
  auto source = open_url(server.url("/base.tar.gz"));
  ASSERT_TRUE(source) << source.error().message;
  TempTree tree;
  auto root = tree.root_fd();
  auto stats = extract_archive(**source, root.get(), {});
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->entries, 3u);
  EXPECT_TRUE(std::filesystem::is_symlink(tree.root() / "bin/sh"));
  EXPECT_EQ((*source)->consumed(), bytes.size());
  EXPECT_EQ((*source)->size(), bytes.size());
}

TEST(FetchTest, Http404FailsAtOpen) {
  HttpServer server;
  auto source = open_url(server.url("/missing.tar.gz"));
  ASSERT_FALSE(source);
  EXPECT_EQ(source.error().code, ENOENT);
  EXPECT_NE(source.error().message.find("404"), std::string::npos) << source.error().message;
  EXPECT_EQ(server.requests(), 1);
}

TEST(FetchTest, RefusedConnectionFailsAtOpen) {
  int port = 0;
  {
    HttpServer server;  // find a port that is closed again afterwards
    port = std::stoi(server.url("").substr(std::string("http://127.0.0.1:").size()));
  }
  auto source = open_url("http://127.0.0.1:" + std::to_string(port) + "/x");
  ASSERT_FALSE(source);
  EXPECT_EQ(source.error().code, EIO);
}

TEST(FetchTest, FileUrls) {
  TempTree tree;
  const auto file = tree.dir() / "a b.tar.gz";
  write_file(file, small_archive());
  auto source = open_url("file://" + tree.dir().string() + "/a%20b.tar.gz");
  ASSERT_TRUE(source) << source.error().message;
  EXPECT_EQ((*source)->size(), std::filesystem::file_size(file));

  auto missing = open_url("file://" + tree.dir().string() + "/nope.tar.gz");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_FALSE(open_url("ftp://127.0.0.1/x"));
}

TEST(FetchTest, FileUrlPaths) {
  EXPECT_EQ(file_url_path("file:///a/b%20c"), std::filesystem::path("/a/b c"));
  EXPECT_EQ(file_url_path("FILE://localhost/x"), std::filesystem::path("/x"));
  EXPECT_EQ(file_url_path("file://host/x"), std::filesystem::path());
  EXPECT_EQ(file_url_path("http://x/y"), std::nullopt);
}

TEST(PathTest, NormalizesMemberNames) {
  EXPECT_EQ(normalize_member_path("./a//b/./c/"), "a/b/c");
  EXPECT_EQ(normalize_member_path("./"), "");
  EXPECT_EQ(normalize_member_path("a/.../b"), "a/.../b");
  EXPECT_EQ(normalize_member_path("/etc/passwd").error().code, EPERM);
  EXPECT_EQ(normalize_member_path("a/../b").error().code, EPERM);
  EXPECT_EQ(normalize_member_path("..").error().code, EPERM);
  EXPECT_EQ(normalize_member_path("").error().code, EINVAL);
}

TEST(ProgressTest, FormatsAndParses) {
  Progress p{1048576, 4194304, 120};
  EXPECT_EQ(format_progress(p), "Fetched 1048576 of 4194304 bytes, extracted 120 files\n");
  auto back = parse_progress(format_progress(p));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->fetched, 1048576u);
  EXPECT_EQ(back->total, 4194304u);
  EXPECT_EQ(back->files, 120u);
  Progress unknown{5, std::nullopt, 1};
  EXPECT_EQ(format_progress(unknown), "Fetched 5 bytes, extracted 1 files\n");
  EXPECT_EQ(parse_progress(format_progress(unknown))->total, std::nullopt);
  EXPECT_FALSE(parse_progress("Fetched 5 bytes, extracted 1 files\nmore"));
  EXPECT_FALSE(parse_progress("Succesfully fetched base system.\n"));
}

}  // namespace
}  // namespace kleene::image::test
