#include "create_fixture.hpp"

#include <stdlib.h>

#include <fstream>
#include <mutex>

#include "util/process.hpp"

namespace kleene::image::test {
namespace {

void write(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path) << text;
}

// The fixture's temp dir outlives the tests of this process; removed at exit.
struct FixtureDir {
  std::filesystem::path dir;
  ~FixtureDir() {
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
};

}  // namespace

const std::filesystem::path& busybox_tarball() {
  static FixtureDir fixture;
  static std::filesystem::path tarball;
  static std::once_flag once;
  std::call_once(once, [] {
    char tmpl[] = "/tmp/kl-busybox.XXXXXX";
    fixture.dir = ::mkdtemp(tmpl);
    tarball = fixture.dir / "busybox-rootfs.tar.gz";
    auto built = run_process({.argv = {"/bin/bash", KLEENE_BUSYBOX_FIXTURE, tarball.string()},
                              .env = std::vector<std::string>{"PATH=/usr/bin:/bin"}});
    if (!built || built->exit_code != 0) tarball.clear();
  });
  return tarball;
}

void CreateTest::SetUpPool(const std::string& size) {
  kleene::test::TestPoolOptions options;
  options.size = size;
  auto pool = kleene::test::TestPool::create(options);
  ASSERT_TRUE(pool) << pool.error().message;
  pool_ = std::move(*pool);
  plugin::HostOptions host_options;
  host_options.plugin_config = {{"zfs", pool_->plugin_config()}};
  registry_ = std::make_unique<plugin::Registry>(host_options);
  auto loaded = registry_->load_file(KLEENE_BUILT_PLUGIN_DIR "/storage-zfs.so");
  ASSERT_TRUE(loaded) << loaded.error().message;
  auto* plugin = registry_->find("zfs", plugin::Kind::storage);
  ASSERT_NE(plugin, nullptr);
  storage_ = std::make_unique<storage::Storage>(*plugin, pool_->dataset("kleene"));
  auto steps = storage_->init({});
  ASSERT_TRUE(steps) << steps.error().message;
  auto store = store::Store::open(pool_->dir() / "metadata.sqlite");
  ASSERT_TRUE(store) << store.error().message;
  store_ = std::move(*store);
  images_ = std::make_unique<ImageRepository>(*store_);

  host_dir_ = pool_->dir() / "host";
  std::filesystem::create_directories(host_dir_);
  write(host_dir_ / "resolv.conf", "nameserver 192.0.2.53\n");
  write(host_dir_ / "localtime", "TZif-fake\n");
  host_.resolv_conf = host_dir_ / "resolv.conf";
  host_.localtime = host_dir_ / "localtime";
  baseline_ = pool_->list_all();
}

void CreateTest::TearDown() {
  if (!pool_ || HasFatalFailure()) return;
  EXPECT_EQ(pool_->list_all(), baseline_) << "leaked datasets or snapshots";
  EXPECT_EQ(image_rows(), 0u) << "leaked image rows";
}

Result<Image> CreateTest::create(const CreateConfig& config) {
  CreateEnv env{.storage = *storage_, .images = *images_, .limits = limits_, .host = host_};
  return create_image(config, env, reporter_);
}

void CreateTest::remove_image(const Image& image) {
  auto destroyed = storage_->destroy(image.dataset, true);
  EXPECT_TRUE(destroyed) << destroyed.error().message;
  auto removed = images_->remove(image.id);
  EXPECT_TRUE(removed) << removed.error().message;
}

std::filesystem::path CreateTest::mountpoint(const Image& image) {
  auto path = storage_->mountpoint(image.dataset);
  EXPECT_TRUE(path) << path.error().message;
  return path ? *path : std::filesystem::path();
}

std::string CreateTest::read_in(const Image& image, const std::string& rel) {
  std::ifstream in(mountpoint(image) / rel);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

std::size_t CreateTest::image_rows() {
  auto list = images_->list();
  EXPECT_TRUE(list) << list.error().message;
  return list ? list->size() : 0;
}

}  // namespace kleene::image::test
