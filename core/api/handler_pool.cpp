#include "api/handler_pool.hpp"

#include <algorithm>
#include <system_error>
#include <utility>

#include <spdlog/spdlog.h>

namespace kleene::api::detail {

HandlerPool::Lane lane_of(std::string_view method, std::string_view target) {
  if (method == "GET") return HandlerPool::Lane::quick;
  if (method != "POST") return HandlerPool::Lane::change;
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/exec/create") return HandlerPool::Lane::quick;
  constexpr std::string_view images = "/images/", tag = "/tag";
  if (path.starts_with(images) && path.ends_with(tag) && path.size() > images.size() + tag.size() &&
      path.substr(images.size(), path.size() - images.size() - tag.size()).find('/') ==
          std::string_view::npos)
    return HandlerPool::Lane::quick;
  return HandlerPool::Lane::change;
}

HandlerPool::HandlerPool(unsigned max_threads, unsigned reserved_for_reads)
    : max_threads_(std::max(1u, max_threads)),
      max_changes_(reserved_for_reads < max_threads_ ? max_threads_ - reserved_for_reads : 1) {}

HandlerPool::~HandlerPool() {
  join();
}

std::size_t HandlerPool::runnable() const {
  const std::size_t free_for_changes =
      running_changes_ < max_changes_ ? max_changes_ - running_changes_ : 0;
  return quick_.size() + std::min(changes_.size(), free_for_changes);
}

void HandlerPool::post(Task task, Lane lane) {
  std::unique_lock lock(mutex_);
  (lane == Lane::quick ? quick_ : changes_).push_back(std::move(task));
  // Every task that can run has a waiting thread to take it: wake one.
  if (runnable() <= idle_ || joining_ || threads_.size() >= max_threads_) {
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
    const bool quick = !quick_.empty();
    if (quick || (!changes_.empty() && running_changes_ < max_changes_)) {
      auto& queue = quick ? quick_ : changes_;
      Task task = std::move(queue.front());
      queue.pop_front();
      if (!quick) ++running_changes_;
      lock.unlock();
      task();
      task = nullptr;  // what it holds goes before the lock is taken again
      lock.lock();
      if (!quick) {
        --running_changes_;
        // A change that waited for this one's place may go now, on any waiting thread.
        if (!changes_.empty()) wake_.notify_one();
      }
      continue;
    }
    // Joining: end once nothing is queued; a change waiting for a place keeps its thread.
    if (joining_ && quick_.empty() && changes_.empty()) return;
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
  std::deque<Task> left_quick, left_changes;
  {
    std::lock_guard lock(mutex_);
    joined_ = true;
    left_quick.swap(quick_);
    left_changes.swap(changes_);
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
