// What route handlers reach: the daemon's config, plugins, metadata store and storage. Pointers may
// be null in tests that do not need them.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>

namespace kleene::store {
class Store;
}
namespace kleene::plugin {
class Registry;
}
namespace kleene::config {
struct DaemonConfig;
}
namespace kleene::storage {
class Storage;
}
namespace kleene::runtime {
class Runtime;
}

namespace kleene::api {

class Router;

// The storage backend as handlers see it. kleened opens storage after it listens (starting
// zfs-fuse or importing a pool can take seconds), so the slot moves once from "starting" to
// ready or to the reason it is not; handlers read it per request. Thread-safe.
class StorageSlot {
 public:
  // nullptr until ready (and for good when opening failed).
  storage::Storage* get() const { return ready_.load(std::memory_order_acquire); }
  // Why get() is null: "starting" while opening, else the failure; "" once ready.
  std::string error() const {
    std::lock_guard lock(mutex_);
    return error_;
  }
  // Block until opening has finished; returns error().
  std::string wait() const {
    std::unique_lock lock(mutex_);
    settled_.wait(lock, [this] { return settled_flag_; });
    return error_;
  }
  void set_ready(storage::Storage* storage) { settle(storage, {}); }
  void set_failed(std::string reason) { settle(nullptr, std::move(reason)); }

 private:
  void settle(storage::Storage* storage, std::string reason) {
    {
      std::lock_guard lock(mutex_);
      error_ = std::move(reason);
      settled_flag_ = true;
      ready_.store(storage, std::memory_order_release);
    }
    settled_.notify_all();
  }
  std::atomic<storage::Storage*> ready_{nullptr};
  mutable std::mutex mutex_;
  mutable std::condition_variable settled_;
  bool settled_flag_ = false;
  std::string error_ = "starting";
};

struct ApiContext {
  const config::DaemonConfig* config = nullptr;
  plugin::Registry* plugins = nullptr;
  store::Store* store = nullptr;
  // Handlers answer 500 "storage is not ready: <reason>; run 'kleened init'" while it has no
  // storage (see storage_ready.hpp). Null: no storage at all.
  const StorageSlot* storage = nullptr;
  // The container runtime (keepers). Null in tests without containers.
  runtime::Runtime* runtime = nullptr;
};

// One per resource file (core/api/<resource>.cpp); later issues replace the stubs.
void register_container_routes(Router& router, ApiContext& context);
void register_exec_routes(Router& router, ApiContext& context);
void register_image_routes(Router& router, ApiContext& context);
void register_network_routes(Router& router, ApiContext& context);
void register_volume_routes(Router& router, ApiContext& context);
void register_system_routes(Router& router, ApiContext& context);  // GET /version
void register_plugin_routes(Router& router, ApiContext& context);  // GET /plugins/list

// All of the above.
void register_routes(Router& router, ApiContext& context);

}  // namespace kleene::api
