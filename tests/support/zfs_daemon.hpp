// The ZFS service under a TestPool: kernel ZFS, or a zfs-fuse daemon started on demand. A lock
// file serialises start/stop decisions between test processes running in parallel.
#pragma once

#include <filesystem>

#include "support/zfs_pool.hpp"
#include "util/error.hpp"
#include "util/unique_fd.hpp"

namespace kleene::test::detail {

// An exclusive flock on /tmp/kleene-test-zfs.lock, held while a pool is created or destroyed,
// so one process never stops a zfs-fuse that another is about to use.
class ServiceLock {
 public:
  static Result<ServiceLock> acquire();

 private:
  explicit ServiceLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

// Where the PID of a zfs-fuse started by tests is recorded: by a TestPool (stopped by the
// last TestPool to go), or by the ctest fixture `zfs` (kleene_zfs_service; stopped by its
// cleanup, never by a TestPool).
inline constexpr const char* kTestPoolPidfile = "/tmp/kleene-test-zfs-fuse.pid";
inline constexpr const char* kFixturePidfile = "/tmp/kleene-test-zfs-fuse-fixture.pid";

// Make `zpool` answer: nothing to do with kernel ZFS or a running zfs-fuse; otherwise start
// zfs-fuse (pidfile in `scratch`), write its PID to `record` and wait for it. Returns the PID
// it started, or 0. Call with the ServiceLock held.
Result<int> ensure_zfs_service(const ZfsTools& tools, const std::filesystem::path& scratch,
                               const std::filesystem::path& record);

// If `record` names a running zfs-fuse and no pool is left, stop it (SIGTERM, SIGKILL only if
// it hangs; by PID) and remove the record. False if a pool is left or it would not stop. A
// zfs-fuse that nobody recorded is never touched. Call with the ServiceLock held.
bool stop_zfs_fuse_if_idle(const ZfsTools& tools, const std::filesystem::path& record);

}  // namespace kleene::test::detail
