// The "zfs" storage backend: datasets, snapshots and clones through the zfs command line tool.
// Every operation still answers "not implemented yet" (the SDK's default).
#include "kleene/plugin/sdk.hpp"

namespace {

class ZfsBackend final : public kleene::sdk::StorageBackend {
 public:
  using StorageBackend::StorageBackend;
};

}  // namespace

KLEENE_STORAGE_PLUGIN(ZfsBackend, "zfs", "0.1.0",
                      "ZFS datasets, snapshots and clones through the zfs tool",
                      KLEENE_CAP_STORAGE_SNAPSHOT | KLEENE_CAP_STORAGE_CLONE |
                          KLEENE_CAP_STORAGE_SEND_RECEIVE);
