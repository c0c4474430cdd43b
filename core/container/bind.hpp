// The container layer's Env from kleened's ApiContext (store, ready storage, runtime, config,
// network plugins).
#pragma once

#include <memory>
#include <optional>

#include "api/context.hpp"
#include "container/service.hpp"

namespace kleene::container {

struct BoundEnv {
  std::unique_ptr<RuntimePort> port;
  std::optional<Env> env;
};

// EAGAIN when the store or storage is not ready (the API answers with storage_ready.hpp first).
// `storage` overrides context.storage (kleened's start-up, before the slot is ready).
Result<std::unique_ptr<BoundEnv>> bind(const api::ApiContext& context,
                                       storage::Storage* storage = nullptr);

}  // namespace kleene::container
