// The storage operations, one function per ABI op; requests and responses are documented in
// docs/storage.md. Each validates its names first, then runs zfs through the Cli.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "cli.hpp"

namespace kleene::zfs {

using json = nlohmann::json;

json create_dataset(const Cli& cli, const json& request);
json destroy(const Cli& cli, const json& request);
json snapshot(const Cli& cli, const json& request);
json clone(const Cli& cli, const json& request);
json rename(const Cli& cli, const json& request);
json list_snapshots(const Cli& cli, const json& request);
json list_clones(const Cli& cli, const json& request);
// {"dataset"} -> {"datasets": [file systems directly below it, sorted], "mounted": [those of
// them mounted, from the mount table]}; ENOENT if it is missing.
json list_datasets(const Cli& cli, const json& request);
// {"dataset"} -> {"unmounted": bool} (false: it was not mounted); ENOENT if it is missing, EBUSY
// if it stays in use.
json unmount(const Cli& cli, const json& request);
json mountpoint(const Cli& cli, const json& request);
json info(const Cli& cli, const json& request);
json copy(const Cli& cli, const json& request);  // copy.cpp
json init(const Cli& cli, const json& request);  // init.cpp

// Helpers shared by the files above.
std::string string_field(const json& request, const char* key);
// Destroy. A zfs-fuse mount of it is unmounted first, and zfs-fuse's "busy" retried (unmounting
// again in between).
void destroy_dataset(const Cli& cli, const std::string& name, bool recursive);
// The mountpoint of a filesystem, mounting it first if it is not mounted.
std::string mounted_path(const Cli& cli, const std::string& dataset);

// The sources (dataset names) of every zfs / fuse.zfs mount in `mountinfo`.
std::vector<std::string> mounted_sources(const std::string& mountinfo = "/proc/self/mountinfo");
// Whether zfs-fuse has `dataset` or a dataset below it mounted (a fuse.zfs mount in `mountinfo`).
bool fuse_mounted_tree(const std::string& dataset,
                       const std::string& mountinfo = "/proc/self/mountinfo");
// Where the kernel has `dataset` mounted (type zfs or fuse.zfs, source = the dataset's name), from
// /proc/self/mountinfo; nullopt when it is not mounted. mounted_path() asks it first.
std::optional<std::string> kernel_mountpoint(const std::string& dataset,
                                             const std::string& mountinfo = "/proc/self/mountinfo");

// A ZFS mount from mountinfo: the dataset, where, and its device ("major:minor").
struct ZfsMount {
  std::string source;
  std::string target;
  std::string device;
  bool fuse = false;  // zfs-fuse's (fuse.zfs)
};
// The last mount of `dataset` in `mountinfo`, nullopt when it is not mounted.
std::optional<ZfsMount> zfs_mount_of(const std::string& dataset,
                                     const std::string& mountinfo = "/proc/self/mountinfo");
// zfs-fuse: sets the kernel's readahead of a FUSE mount to `kib` KiB
// (<sysfs>/class/bdi/<device>/read_ahead_kb), once the file system has answered FUSE_INIT (it
// waits for that; not when the mount has `kib` already). False, and nothing done, for a
// kernel ZFS mount, kib 0, a malformed device or a write that failed.
bool set_fuse_read_ahead(const ZfsMount& mount, std::uint32_t kib,
                         const std::string& sysfs = "/sys");

}  // namespace kleene::zfs
