// Running zfs, zpool and friends through the host's run_command (absolute paths, no shell), and
// turning their messages into kleene_status errors.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "kleene/plugin/sdk.hpp"
#include "settings.hpp"

namespace kleene::zfs {

class Cli {
 public:
  Cli(const sdk::Host& host, const Settings& settings);

  // Any tool; a non-zero exit is left to the caller.
  sdk::RunResult run(std::vector<std::string> argv) const;
  sdk::RunResult zfs_raw(const std::vector<std::string>& args) const;
  sdk::RunResult zpool_raw(const std::vector<std::string>& args) const;

  // The tool's stdout; a non-zero exit throws sdk::Error with the status its message implies.
  std::string zfs(const std::vector<std::string>& args) const;
  std::string zpool(const std::vector<std::string>& args) const;

  // zfs-fuse refuses to destroy or rename a dataset it has just mounted ("dataset is busy")
  // until it is unmounted. Retry such a command with backoff, calling `between` before each
  // new attempt; other failures throw at once.
  std::string zfs_retrying_busy(const std::vector<std::string>& args,
                                const std::function<void()>& between) const;

  bool exists(const std::string& name) const;  // a dataset or snapshot
  bool service_answers() const;                // zpool can talk to ZFS

  // zfs-fuse: waits (at most `bound`) for zfs and zpool processes that hold no command lock: a
  // kleened killed during a command leaves it running without the lock, which went with that
  // kleened. zfs-fuse can wedge when another command runs beside it (docs/storage.md). Called
  // once at start, before the first command.
  void wait_for_unlocked_commands(std::chrono::milliseconds bound) const;

  const Settings& settings() const { return settings_; }
  const sdk::Host& host() const { return host_; }

 private:
  sdk::RunResult run_zfs_tool(std::vector<std::string> argv) const;

  const sdk::Host& host_;
  const Settings& settings_;
  bool serialize_ = false;  // zfs-fuse: one zfs/zpool command at a time on the host
};

// The status a zfs/zpool error message implies (NOT_FOUND, EXISTS, BUSY, INVALID, FAILED).
kleene_status status_of_message(const std::string& message);
// Throw the error for a failed command: its stderr (trimmed) or "<tool> exited with N".
[[noreturn]] void throw_failure(const std::vector<std::string>& argv, const sdk::RunResult& result);
bool is_busy_message(const std::string& message);

}  // namespace kleene::zfs
