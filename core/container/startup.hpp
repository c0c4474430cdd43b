// What kleened does with containers once storage is ready.
#pragma once

#include "api/context.hpp"

namespace kleene::storage {
class Storage;
}

namespace kleene::container {

// Call once, when storage has opened and before the slot is set ready (so kleened reports
// ready only after this; it blocks while it starts containers): logs the running containers
// re-adopted from their keepers (runtime->adopt()) and starts every container with
// restart_policy "on-startup" that does not run (its cmd as a detached execution). Uses
// context.store, .runtime, .config, .plugins and the given storage. Failures are logged.
void on_storage_ready(api::ApiContext& context, storage::Storage& storage);

}  // namespace kleene::container
