// The "zfs" storage backend: datasets, snapshots and clones through the zfs and zpool tools
// (absolute paths from the plugin's settings, run by the host without a shell). Works with
// kernel OpenZFS and with zfs-fuse. Requests and responses: docs/storage.md.
#include "cli.hpp"
#include "kleene/plugin/sdk.hpp"
#include "ops.hpp"
#include "settings.hpp"

namespace {

using kleene::sdk::json;

class ZfsBackend final : public kleene::sdk::StorageBackend {
 public:
  ZfsBackend(kleene::sdk::Host host, json config)
      : StorageBackend(host, std::move(config)),
        settings_(kleene::zfs::parse_settings(this->config())),
        cli_(this->host(), settings_) {}

  json init(const json& request) override { return kleene::zfs::init(cli_, request); }
  json create_dataset(const json& request) override {
    return kleene::zfs::create_dataset(cli_, request);
  }
  json destroy(const json& request) override { return kleene::zfs::destroy(cli_, request); }
  json snapshot(const json& request) override { return kleene::zfs::snapshot(cli_, request); }
  json clone(const json& request) override { return kleene::zfs::clone(cli_, request); }
  json rename(const json& request) override { return kleene::zfs::rename(cli_, request); }
  json list_snapshots(const json& request) override {
    return kleene::zfs::list_snapshots(cli_, request);
  }
  json list_clones(const json& request) override { return kleene::zfs::list_clones(cli_, request); }
  json mountpoint(const json& request) override { return kleene::zfs::mountpoint(cli_, request); }
  json copy(const json& request) override { return kleene::zfs::copy(cli_, request); }
  json info(const json& request) override { return kleene::zfs::info(cli_, request); }
  json list_datasets(const json& request) override {
    return kleene::zfs::list_datasets(cli_, request);
  }
  json unmount(const json& request) override { return kleene::zfs::unmount(cli_, request); }

 private:
  // Immutable after construction, so concurrent calls from several threads share them safely.
  const kleene::zfs::Settings settings_;
  const kleene::zfs::Cli cli_;
};

}  // namespace

KLEENE_STORAGE_PLUGIN(ZfsBackend, "zfs", "0.1.0",
                      "ZFS datasets, snapshots and clones through the zfs tool",
                      KLEENE_CAP_STORAGE_SNAPSHOT | KLEENE_CAP_STORAGE_CLONE |
                          KLEENE_CAP_STORAGE_SEND_RECEIVE);
