// The price of the plugin layer on a clone: Storage::clone (facade -> C ABI -> plugin ->
// host run_command -> zfs) against `zfs clone` spawned directly, on one throw-away pool
// (zfs-fuse or kernel ZFS). Only the clone is timed; destroying it is not.
#include <benchmark/benchmark.h>
#include <sys/utsname.h>

#include <iostream>
#include <memory>
#include <thread>

#include "plugin/registry.hpp"
#include "storage/storage.hpp"
#include "support/zfs_pool.hpp"

namespace {

using namespace kleene;

struct Bench {
  std::unique_ptr<test::TestPool> pool;
  std::unique_ptr<plugin::Registry> registry;
  std::unique_ptr<storage::Storage> storage;
  std::string snapshot;
  int next = 0;

  std::string fresh_target() { return storage->layout().container("c" + std::to_string(next++)); }
  ~Bench() {
    if (storage) (void)storage->destroy(storage->layout().root(), true);
    storage.reset(), registry.reset(), pool.reset();
  }
};

Bench* bench = nullptr;

Result<std::unique_ptr<Bench>> setup() {
  auto result = std::make_unique<Bench>();
  result->pool = TRY(test::TestPool::create({.size = "512M"}));
  plugin::HostOptions options;
  options.plugin_config = {{"zfs", result->pool->plugin_config()}};
  result->registry = std::make_unique<plugin::Registry>(options);
  TRY(result->registry->load_file(KLEENE_BUILT_PLUGIN_DIR "/storage-zfs.so"));
  auto* plugin = result->registry->find("zfs", plugin::Kind::storage);
  if (plugin == nullptr) return make_error(ENOENT, "storage-zfs did not load");
  result->storage = std::make_unique<storage::Storage>(*plugin, result->pool->dataset("kleene"));
  TRY(result->storage->init({}));
  const std::string image = result->storage->layout().image("bench");
  TRY(result->storage->create_dataset(image));
  result->snapshot = image + "@image";
  TRY(result->storage->snapshot(result->snapshot));
  return result;
}

void destroy_untimed(benchmark::State& state, const std::string& target) {
  state.PauseTiming();
  if (auto destroyed = bench->storage->destroy(target); !destroyed)
    state.SkipWithError(destroyed.error().message.c_str());
  state.ResumeTiming();
}

void BM_CloneThroughPlugin(benchmark::State& state) {
  for (auto _ : state) {
    const std::string target = bench->fresh_target();
    if (auto cloned = bench->storage->clone(bench->snapshot, target); !cloned) {
      state.SkipWithError(cloned.error().message.c_str());
      break;
    }
    destroy_untimed(state, target);
  }
}
BENCHMARK(BM_CloneThroughPlugin)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CloneDirect(benchmark::State& state) {
  for (auto _ : state) {
    const std::string target = bench->fresh_target();
    if (auto cloned = bench->pool->zfs({"clone", bench->snapshot, target}); !cloned) {
      state.SkipWithError(cloned.error().message.c_str());
      break;
    }
    destroy_untimed(state, target);
  }
}
BENCHMARK(BM_CloneDirect)->Unit(benchmark::kMillisecond)->UseRealTime();

// The fixed cost of the plugin path without zfs doing work: a name check that fails.
void BM_PluginCallOverhead(benchmark::State& state) {
  for (auto _ : state) {
    auto refused = bench->storage->clone(bench->snapshot, "-invalid");
    benchmark::DoNotOptimize(refused);
  }
}
BENCHMARK(BM_PluginCallOverhead)->Unit(benchmark::kMicrosecond);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  auto prepared = setup();
  if (!prepared) {
    std::cerr << "kleene_bench_storage: " << prepared.error().message << "\n";
    return 1;
  }
  bench = prepared->get();
  utsname host{};
  ::uname(&host);
  benchmark::AddCustomContext("kernel", host.release);
  benchmark::AddCustomContext("cpus", std::to_string(std::thread::hardware_concurrency()));
  benchmark::AddCustomContext("pool", bench->pool->name());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  bench = nullptr;
  prepared->reset();
  return 0;
}
