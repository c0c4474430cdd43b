// The four creation methods on a real pool, and what a failure leaves behind (nothing).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>

#include "archive_builder.hpp"
#include "create_fixture.hpp"
#include "http_server.hpp"
#include "image/create/progress.hpp"

namespace kleene::image::test {
namespace {

CreateConfig fetch(const std::string& url, const std::string& tag = "") {
  CreateConfig c;
  c.method = "fetch";
  c.url = url;
  c.tag = tag;
  return c;
}

CreateConfig from_dataset(const std::string& method, const std::string& dataset) {
  CreateConfig c;
  c.method = method;
  c.zfs_dataset = dataset;
  return c;
}

TEST_F(CreateTest, FetchesTheBusyboxRootfsOverFileUrl) {
  ASSERT_FALSE(busybox_tarball().empty()) << "could not build the busybox fixture";
  auto image = create(fetch("file://" + busybox_tarball().string(), "base"));
  ASSERT_TRUE(image) << image.error().message << "\n" << reporter_.all();
  EXPECT_EQ(image->name, "base");
  EXPECT_EQ(image->tag, "latest");
  EXPECT_EQ(image->user, "root");
  EXPECT_EQ(image->cmd, std::vector<std::string>{"/bin/sh"});
  EXPECT_TRUE(image->env.empty());
  EXPECT_EQ(image->dataset, storage_->layout().image(image->id));

  auto stored = images_->get(image->id);
  ASSERT_TRUE(stored) << stored.error().message;
  EXPECT_EQ(stored->name, "base");
  EXPECT_EQ(*storage_->exists(image->dataset + "@image"), true);

  const auto root = mountpoint(*image);
  EXPECT_TRUE(std::filesystem::is_regular_file(root / "bin/busybox"));
  EXPECT_EQ(std::filesystem::read_symlink(root / "bin/sh"), "busybox");
  struct stat st {};
  ASSERT_EQ(::stat((root / "tmp").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 01777);
  EXPECT_EQ(read_in(*image, "etc/resolv.conf"), "nameserver 192.0.2.53\n");
  EXPECT_EQ(read_in(*image, "etc/localtime"), "TZif-fake\n");

  const std::string out = reporter_.all();
  EXPECT_NE(out.find("Fetching file://"), std::string::npos);
  EXPECT_NE(out.find("Unpacking contents and creating image...\n"), std::string::npos);
  EXPECT_NE(out.find("Succesfully extracted binaries, creating image...\n"), std::string::npos);
  auto last_progress = std::find_if(reporter_.frames.rbegin(), reporter_.frames.rend(),
                                    [](const std::string& f) { return parse_progress(f); });
  ASSERT_NE(last_progress, reporter_.frames.rend());
  auto progress = parse_progress(*last_progress);
  EXPECT_EQ(progress->fetched, std::filesystem::file_size(busybox_tarball()));
  EXPECT_GT(progress->files, 200u);
  remove_image(*image);
}

TEST_F(CreateTest, FetchesOverHttpWithoutDnsAndLocaltime) {
  HttpServer server;
  ArchiveBuilder b(Compression::xz);
  b.dir("etc").file("etc/resolv.conf", "# image's own\n").file("etc/hostname", "x\n");
  server.serve("/rootfs.tar.xz", b.finish());
  auto config = fetch(server.url("/rootfs.tar.xz"));
  config.dns = false;
  config.localtime = false;
  auto image = create(config);
  ASSERT_TRUE(image) << image.error().message << "\n" << reporter_.all();
  EXPECT_EQ(image->name, "");
  EXPECT_EQ(image->tag, "");
  EXPECT_EQ(read_in(*image, "etc/resolv.conf"), "# image's own\n");
  EXPECT_FALSE(std::filesystem::exists(mountpoint(*image) / "etc/localtime"));
  remove_image(*image);
}

TEST_F(CreateTest, MissingHostLocaltimeIsSkipped) {
  HttpServer server;
  ArchiveBuilder b;
  b.dir("etc");
  server.serve("/r.tgz", b.finish());
  host_.localtime = host_dir_ / "nope";
  auto image = create(fetch(server.url("/r.tgz")));
  ASSERT_TRUE(image) << image.error().message;
  EXPECT_NE(reporter_.all().find(host_.localtime.string() + " not found on host, skipping...\n"),
            std::string::npos);
  remove_image(*image);
}

TEST_F(CreateTest, Http404LeavesNothing) {
  HttpServer server;
  auto image = create(fetch(server.url("/missing.tar.gz")));
  ASSERT_FALSE(image);
  EXPECT_EQ(image.error().message.rfind("could not fetch file from url: ", 0), 0u)
      << image.error().message;
  EXPECT_NE(image.error().message.find("404"), std::string::npos);
}

TEST_F(CreateTest, HostileArchivesLeaveNothing) {
  HttpServer server;
  ArchiveBuilder escape;
  escape.file("ok", "1").file("../../escape", "x");
  server.serve("/escape.tgz", escape.finish());
  ArchiveBuilder through;
  through.symlink("etc", "/etc").file("etc/kleene-pwned", "x");
  server.serve("/through.tgz", through.finish());
  server.serve("/corrupt.tgz", std::string(10000, 'z'));
  ArchiveBuilder big;
  big.zeros("big", 3 << 20);
  server.serve("/big.tgz", big.finish());
  limits_.max_total_size = 1 << 20;

  for (const char* path : {"/escape.tgz", "/through.tgz", "/corrupt.tgz", "/big.tgz"}) {
    auto image = create(fetch(server.url(path)));
    ASSERT_FALSE(image) << path;
    EXPECT_EQ(image.error().message.rfind("could not extract tar archive: ", 0), 0u)
        << image.error().message;
    EXPECT_EQ(pool_->list_all(), baseline_) << path;
    EXPECT_EQ(image_rows(), 0u) << path;
  }
  EXPECT_FALSE(std::filesystem::exists("/etc/kleene-pwned"));
}

TEST_F(CreateTest, ClientLeavingMidwayLeavesNothing) {
  ASSERT_FALSE(busybox_tarball().empty());
  limits_.progress_interval = std::chrono::milliseconds(0);
  reporter_.cancel_after = 4;
  auto image = create(fetch("file://" + busybox_tarball().string()));
  ASSERT_FALSE(image);
  EXPECT_EQ(image.error().code, ECANCELED);
}

TEST_F(CreateTest, CopiesAndClonesADataset) {
  const std::string source = pool_->dataset("kl-source");
  ASSERT_TRUE(pool_->zfs({"create", source}));
  auto source_mount = storage_->mountpoint(source);
  ASSERT_TRUE(source_mount);
  std::filesystem::create_directories(*source_mount / "etc");
  std::ofstream(*source_mount / "marker") << "from the source\n";

  auto copy = create(from_dataset("zfs-copy", source));
  ASSERT_TRUE(copy) << copy.error().message;
  EXPECT_EQ(read_in(*copy, "marker"), "from the source\n");
  EXPECT_EQ(read_in(*copy, "etc/resolv.conf"), "nameserver 192.0.2.53\n");
  EXPECT_NE(reporter_.all().find("copying dataset into the new image, this can take a while...\n"),
            std::string::npos);
  // The copy no longer needs a snapshot of the source.
  EXPECT_FALSE(*storage_->exists(source + "@" + copy->id));

  auto clone = create(from_dataset("zfs-clone", source));
  ASSERT_TRUE(clone) << clone.error().message;
  EXPECT_EQ(read_in(*clone, "marker"), "from the source\n");
  EXPECT_TRUE(*storage_->exists(clone->dataset + "@image"));
  EXPECT_TRUE(*storage_->exists(source + "@" + clone->id));

  remove_image(*copy);
  remove_image(*clone);
  ASSERT_TRUE(storage_->destroy(source, true));
}

TEST_F(CreateTest, UnknownDatasetIsInvalid) {
  for (const char* method : {"zfs-copy", "zfs-clone"}) {
    for (const std::string& dataset : {pool_->dataset("kl-nope"), pool_->name() + "@snap"}) {
      auto image = create(from_dataset(method, dataset));
      ASSERT_FALSE(image);
      EXPECT_EQ(image.error().message, "invalid dataset");
    }
  }
}

TEST_F(CreateTest, ReusingANameTagMovesIt) {
  HttpServer server;
  ArchiveBuilder b;
  b.dir("etc");
  server.serve("/r.tgz", b.finish());
  auto first = create(fetch(server.url("/r.tgz"), "kl-base:1"));
  ASSERT_TRUE(first) << first.error().message;
  auto second = create(fetch(server.url("/r.tgz"), "kl-base:1"));
  ASSERT_TRUE(second) << second.error().message;
  auto old = images_->get(first->id);
  ASSERT_TRUE(old);
  EXPECT_EQ(old->name, "");
  EXPECT_EQ(old->tag, "");
  auto resolved = images_->resolve("kl-base", "1");
  ASSERT_TRUE(resolved);
  EXPECT_EQ(resolved->id, second->id);
  remove_image(*first);
  remove_image(*second);
}

}  // namespace
}  // namespace kleene::image::test
