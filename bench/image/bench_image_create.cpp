// Time of `image create fetch file://busybox-rootfs.tar.gz` without the API: fetch + safe
// extraction + resolv.conf/localtime + @image snapshot + row, on a throw-away pool
// (zfs-fuse or kernel ZFS). BM_ExtractOnly unpacks the same tarball into a plain temp dir,
// which separates the cost of extraction from the cost of the storage backend.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "image/create/create.hpp"
#include "image/create/extract.hpp"
#include "image/create/file_source.hpp"
#include "plugin/registry.hpp"
#include "storage/storage.hpp"
#include "store/store.hpp"
#include "support/zfs_pool.hpp"
#include "util/process.hpp"
#include "util/unique_fd.hpp"

namespace {

using namespace kleene;

class NullReporter final : public image::Reporter {
 public:
  void info(std::string_view) override {}
  bool cancelled() override { return false; }
};

struct Bench {
  std::filesystem::path dir;
  std::filesystem::path tarball;
  std::unique_ptr<test::TestPool> pool;
  std::unique_ptr<plugin::Registry> registry;
  std::unique_ptr<storage::Storage> storage;
  std::unique_ptr<store::Store> store;
  std::unique_ptr<image::ImageRepository> images;

  ~Bench() {
    // The pool goes first (it lives in its own temp dir), then the fixture dir.
    images.reset(), store.reset(), storage.reset(), registry.reset(), pool.reset();
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
};

Bench* setup() {
  static std::unique_ptr<Bench> bench;
  if (bench) return bench.get();
  bench = std::make_unique<Bench>();
  char tmpl[] = "/tmp/kl-bench.XXXXXX";
  bench->dir = ::mkdtemp(tmpl);
  bench->tarball = bench->dir / "busybox-rootfs.tar.gz";
  auto built = run_process({.argv = {"/bin/bash", KLEENE_BUSYBOX_FIXTURE, bench->tarball.string()},
                            .env = std::vector<std::string>{"PATH=/usr/bin:/bin"}});
  if (!built || built->exit_code != 0) throw std::runtime_error("cannot build the busybox fixture");
  test::TestPoolOptions options;
  options.size = "1G";
  auto pool = test::TestPool::create(options);
  if (!pool) throw std::runtime_error(pool.error().message);
  bench->pool = std::move(*pool);
  plugin::HostOptions host;
  host.plugin_config = {{"zfs", bench->pool->plugin_config()}};
  bench->registry = std::make_unique<plugin::Registry>(host);
  if (auto loaded = bench->registry->load_file(KLEENE_BUILT_PLUGIN_DIR "/storage-zfs.so");
      !loaded) {
    throw std::runtime_error(loaded.error().message);
  }
  auto* zfs = bench->registry->find("zfs", plugin::Kind::storage);
  bench->storage = std::make_unique<storage::Storage>(*zfs, bench->pool->dataset("kleene"));
  if (auto init = bench->storage->init({}); !init) throw std::runtime_error(init.error().message);
  bench->store = std::move(*store::Store::open(bench->dir / "metadata.sqlite"));
  bench->images = std::make_unique<image::ImageRepository>(*bench->store);
  return bench.get();
}

void BM_ImageCreateFetchFile(benchmark::State& state) {
  Bench* b = setup();
  image::CreateConfig config;
  config.method = "fetch";
  config.url = "file://" + b->tarball.string();
  NullReporter reporter;
  for (auto _ : state) {
    image::CreateEnv env{.storage = *b->storage, .images = *b->images};
    auto created = image::create_image(config, env, reporter);
    if (!created) {
      state.SkipWithError(created.error().message.c_str());
      break;
    }
    state.PauseTiming();
    (void)b->storage->destroy(created->dataset, true);
    (void)b->images->remove(created->id);
    state.ResumeTiming();
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(std::filesystem::file_size(b->tarball)));
}
BENCHMARK(BM_ImageCreateFetchFile)->Unit(benchmark::kMillisecond)->MinTime(5.0);

void BM_ExtractOnly(benchmark::State& state) {
  Bench* b = setup();
  for (auto _ : state) {
    state.PauseTiming();
    const auto target = b->dir / "extract";
    std::filesystem::remove_all(target);
    std::filesystem::create_directories(target);
    UniqueFd root(::open(target.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    auto source = image::open_file(b->tarball);
    state.ResumeTiming();
    auto stats = image::extract_archive(**source, root.get(), {});
    if (!stats) {
      state.SkipWithError(stats.error().message.c_str());
      break;
    }
  }
  std::filesystem::remove_all(b->dir / "extract");
}
BENCHMARK(BM_ExtractOnly)->Unit(benchmark::kMillisecond)->MinTime(2.0);

}  // namespace

int main(int argc, char** argv) {
  utsname host{};
  ::uname(&host);
  std::cout << "host: " << host.sysname << " " << host.release << " " << host.machine << ", "
            << std::thread::hardware_concurrency()
            << " CPUs, ZFS: " << (std::filesystem::exists("/dev/zfs") ? "kernel" : "zfs-fuse")
            << "\n";
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
