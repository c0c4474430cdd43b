// The threads that run request handlers (internal to the server): up to a maximum, each
// started when a handler is posted and no thread is free, so an idle kleened keeps the one or
// two threads its requests needed instead of the whole pool (each thread costs its stack and,
// once it has allocated, a malloc arena). Started threads stay until join().
//
// Two lanes: quick (GETs: lists, inspects; and the changes that only write a row, see lane_of)
// and changes (everything else). Changes wait on storage (a zfs-fuse clone or destroy takes
// tens of milliseconds, many at once take seconds) or on processes, so they may hold at most
// max_threads - reserved_for_reads threads (at least one); the rest is kept for the quick lane,
// which also goes first, so `klee lsc` and `klee exec`'s create answer in milliseconds while 50
// clients create and remove.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

namespace kleene::api::detail {

class HandlerPool {
 public:
  using Task = std::move_only_function<void()>;

  enum class Lane { quick, change };

  explicit HandlerPool(unsigned max_threads, unsigned reserved_for_reads = 0);
  ~HandlerPool();  // join()s; tasks still queued then are destroyed without running
  HandlerPool(const HandlerPool&) = delete;
  HandlerPool& operator=(const HandlerPool&) = delete;

  // Runs `task` on a free thread, a new one if none is free and the maximum is not reached,
  // else after the tasks queued before it in its lane (quick before changes; a change also
  // waits while the changes running hold all the threads they may).
  void post(Task task, Lane lane = Lane::change);
  // Runs every task posted so far (and those they or others post meanwhile), then ends the
  // threads. A task posted once the threads have ended never runs. Idempotent.
  void join();

  // Threads started so far, and those of them waiting for a task (for tests).
  std::size_t threads() const;
  std::size_t idle_threads() const;

 private:
  void work();
  // Tasks a thread could take now (with mutex_ held).
  std::size_t runnable() const;

  const std::size_t max_threads_;
  const std::size_t max_changes_;  // changes running at once
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> quick_;
  std::deque<Task> changes_;
  std::size_t running_changes_ = 0;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;  // threads waiting for a task
  bool joining_ = false;
  bool joined_ = false;
};

// The lane of a request: GETs, and the changes that only write a row and answer at once
// (POST /exec/create, POST /images/{id}/tag), are quick; the rest are changes.
HandlerPool::Lane lane_of(std::string_view method, std::string_view target);

}  // namespace kleene::api::detail
