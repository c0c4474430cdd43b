#include "api/handler_pool.hpp"

#include <algorithm>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>

namespace kleene::api::detail {

HandlerPool::HandlerPool(unsigned max_threads) : max_threads_(std::max(1u, max_threads)) {}

HandlerPool::~HandlerPool() {
  join();
}

void HandlerPool::post(Task task) {
  std::unique_lock lock(mutex_);
  queue_.push_back(std::move(task));
  // Every queued task has a waiting thread to take it: wake one.
  if (queue_.size() <= idle_ || joining_ || threads_.size() >= max_threads_) {
    wake_.notify_one();
    return;
  }
  try {
    threads_.emplace_back([this] { work(); });
  } catch (const std::system_error& e) {
    // The threads already running take the task in turn; with none, the next post tries again.
    spdlog::warn("cannot start a request handler thread ({} running): {}", threads_.size(),
                 e.what());
    wake_.notify_one();
  }
}

void HandlerPool::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (!queue_.empty()) {
      Task task = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      task();
      task = nullptr;  // what it holds goes before the lock is taken again
      lock.lock();
      continue;
    }
    if (joining_) return;
    ++idle_;
    wake_.wait(lock);
    --idle_;
  }
}

void HandlerPool::join() {
  {
    std::lock_guard lock(mutex_);
    if (joined_) return;
    joining_ = true;  // no thread starts from now on: threads_ stays as it is
    wake_.notify_all();
  }
  for (auto& thread : threads_)
    if (thread.joinable()) thread.join();
  std::deque<Task> left;
  {
    std::lock_guard lock(mutex_);
    joined_ = true;
    left.swap(queue_);
  }
}

std::size_t HandlerPool::threads() const {
  std::lock_guard lock(mutex_);
  return threads_.size();
}

std::size_t HandlerPool::idle_threads() const {
  std::lock_guard lock(mutex_);
  return idle_;
}

}  // namespace kleene::api::detail
