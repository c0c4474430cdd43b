// The plugin's settings: its section of kleened's config (`plugins: {zfs: {...}}`).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace kleene::zfs {

struct Settings {
  std::string zfs = "/usr/sbin/zfs";
  std::string zpool = "/usr/sbin/zpool";
  // Started when neither kernel ZFS nor a running zfs-fuse answers. Empty: never start it.
  std::string zfs_fuse = "/usr/sbin/zfs-fuse";
  std::string zfs_fuse_pidfile = "/var/run/zfs-fuse.pid";
  std::string cp = "/usr/bin/cp";
  std::string pool_file = "/var/lib/kleene/pool.img";
  std::string pool_size = "8G";
  std::uint64_t pool_bytes = std::uint64_t{8} << 30;
  std::string pool_mountpoint;  // empty: ZFS's default (/<pool>)
  std::string pool_cachefile;   // empty: ZFS's default; "none" keeps the pool out of it
  // zfs-fuse deadlocks under concurrent commands from several processes: with zfs-fuse (no
  // /dev/zfs) every zfs/zpool command holds an flock on this file. Empty: no lock.
  std::string command_lock = "/run/kleene-zfs-fuse.lock";
  int busy_retries = 8;  // attempts at an operation that zfs-fuse reports busy (2 ms doubling)
  // zfs-fuse: the kernel's readahead (KiB) on a dataset's FUSE mount, set when a container
  // asks for its root. Each clone has inodes of its own, so a new container reads its
  // binaries through FUSE again; 128 KiB (the kernel's) makes that many small requests.
  // 0: the kernel's default.
  std::uint32_t fuse_read_ahead_kb = 2048;
  std::chrono::milliseconds service_timeout{20000};  // wait for a started zfs-fuse
};

// Throws sdk::Error(KLEENE_E_INVALID) naming the key on a bad value.
Settings parse_settings(const nlohmann::json& config);

// "8G", "256M", "1073741824" -> bytes (K, M, G, T are powers of 1024). 0 on a bad size.
std::uint64_t parse_size(const std::string& text);

}  // namespace kleene::zfs
