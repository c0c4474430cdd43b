// HandlerPool: threads start as handlers need them, up to the maximum; join() runs what is queued.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <initializer_list>
#include <latch>
#include <memory>
#include <thread>

#include "api/handler_pool.hpp"

namespace {

using kleene::api::detail::HandlerPool;
using kleene::api::detail::lane_of;

TEST(HandlerPool, StartsNoThreadUntilATaskIsPosted) {
  HandlerPool pool(4);
  EXPECT_EQ(pool.threads(), 0u);
  std::promise<void> ran;
  pool.post([&] { ran.set_value(); });
  ran.get_future().get();
  EXPECT_EQ(pool.threads(), 1u);
}

// Until the pool's one thread waits for work again (it does right after its task returns).
void wait_until_idle(const HandlerPool& pool) {
  while (pool.idle_threads() != pool.threads())
    std::this_thread::yield();
}

TEST(HandlerPool, ReusesAFreeThreadForTasksOneAfterAnother) {
  HandlerPool pool(4);
  for (int i = 0; i < 20; ++i) {
    std::promise<void> ran;
    pool.post([&] { ran.set_value(); });
    ran.get_future().get();
    wait_until_idle(pool);
  }
  EXPECT_EQ(pool.threads(), 1u);
}

TEST(HandlerPool, RunsUpToTheMaximumAtOnceAndQueuesTheRest) {
  constexpr int kMax = 4;
  HandlerPool pool(kMax);
  std::latch all_running(kMax);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> done{0};
  for (int i = 0; i < kMax; ++i) {
    pool.post([&, released] {
      all_running.count_down();
      released.wait();
      ++done;
    });
  }
  all_running.wait();  // four tasks block at once: four threads
  EXPECT_EQ(pool.threads(), static_cast<std::size_t>(kMax));
  std::promise<void> fifth;
  pool.post([&] { fifth.set_value(); });  // queued: no fifth thread
  EXPECT_EQ(pool.threads(), static_cast<std::size_t>(kMax));
  release.set_value();
  fifth.get_future().get();
  pool.join();
  EXPECT_EQ(done.load(), kMax);
  EXPECT_EQ(pool.threads(), static_cast<std::size_t>(kMax));
}

TEST(HandlerPool, JoinRunsWhatIsQueuedThenDropsLaterTasks) {
  HandlerPool pool(1);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ran{0};
  pool.post([&, released] {
    released.wait();
    ++ran;
  });
  for (int i = 0; i < 5; ++i)
    pool.post([&] { ++ran; });
  release.set_value();
  pool.join();
  EXPECT_EQ(ran.load(), 6);

  // After join a task is destroyed without running.
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  pool.post([&, held = std::move(alive)] { ++ran; });
  pool.join();  // idempotent
  EXPECT_EQ(ran.load(), 6);
  EXPECT_FALSE(watch.expired());  // kept until the pool goes, as boost's thread_pool did
}

TEST(HandlerPool, DestroysQueuedTasksWhenItGoes) {
  auto alive = std::make_shared<int>(0);
  std::weak_ptr<int> watch = alive;
  {
    HandlerPool pool(1);
    pool.join();
    pool.post([held = std::move(alive)] {});
  }
  EXPECT_TRUE(watch.expired());
}

// Changes (storage work) may hold only part of the threads: a read runs at once while they
// block, and reads go before changes that are queued.
TEST(HandlerPool, ReadsRunWhileChangesHoldTheirThreads) {
  HandlerPool pool(4, /*reserved_for_reads=*/1);  // at most 3 changes at once
  std::latch three_running(3);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> changes_done{0}, changes_started{0};
  for (int i = 0; i < 5; ++i) {
    pool.post(
        [&, released] {
          if (changes_started.fetch_add(1) < 3) three_running.count_down();
          released.wait();
          ++changes_done;
        },
        HandlerPool::Lane::change);
  }
  three_running.wait();
  std::promise<void> read;
  pool.post([&] { read.set_value(); }, HandlerPool::Lane::quick);
  read.get_future().get();  // while three changes block and two wait
  EXPECT_EQ(changes_done.load(), 0);
  EXPECT_EQ(changes_started.load(), 3);
  EXPECT_EQ(pool.threads(), 4u);
  release.set_value();
  pool.join();
  EXPECT_EQ(changes_done.load(), 5);
}

// Which requests may pass the storage work: reads, and the changes that only write a row.
TEST(HandlerPool, LaneOfARequest) {
  using Lane = HandlerPool::Lane;
  struct Case {
    const char* method;
    const char* target;
    Lane lane;
  };
  for (const auto& [method, target, lane] : std::initializer_list<Case>{
           {"GET", "/containers/list?all=true", Lane::quick},
           {"GET", "/exec/start?options=x", Lane::quick},
           {"POST", "/exec/create", Lane::quick},
           {"POST", "/exec/create?x=1", Lane::quick},
           {"POST", "/images/base/tag?nametag=a:b", Lane::quick},
           {"POST", "/containers/create", Lane::change},
           {"POST", "/containers/web/stop", Lane::change},
           {"POST", "/exec/abc/stop", Lane::change},
           {"POST", "/images/prune", Lane::change},
           {"POST", "/images//tag", Lane::change},
           {"POST", "/images/a/b/tag", Lane::change},
           {"DELETE", "/images/base", Lane::change},
           {"PUT", "/exec/create", Lane::change},
       })
    EXPECT_EQ(lane_of(method, target), lane) << method << " " << target;
}

}  // namespace
