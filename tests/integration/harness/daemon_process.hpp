#pragma once

#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "temp_dir.hpp"

namespace kleene::it {

// What happened when kleened was launched.
struct LaunchOutcome {
  bool ready = false;            // the ready line came with "pid" and "listening"
  std::string error;             // the ready line's "error", else what went wrong
  std::optional<int> exit_code;  // set when the daemon ended during start-up
};

// A kleened started by a test: config, sockets, pidfile, run dir, metadata db and logs all live
// inside the test's TempDir. Start-up is synchronised on the --ready-fd line (no sleeping), and
// the destructor stops a daemon that is still running, failing the test if it does not end
// cleanly with exit code 0.
class DaemonProcess {
 public:
  static constexpr std::chrono::seconds kStartTimeout{20};
  static constexpr std::chrono::seconds kStopTimeout{10};

  explicit DaemonProcess(const TempDir& dir, std::string name = "kleened");
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // The config written at launch, as JSON (emitted as YAML). Tests edit it before start().
  nlohmann::json& config() { return config_; }
  // Use this text verbatim as the config file instead (for malformed-config tests).
  void set_raw_config(std::string yaml) { raw_config_ = std::move(yaml); }
  // Launch kleened inside this network namespace (a /run/netns/<name> path, see netns.hpp)
  // instead of the test's; "" for the test's own. Only the network namespace changes.
  void set_network_namespace(std::string path) { netns_path_ = std::move(path); }

  std::string config_path() const { return dir_.file(name_ + ".yaml"); }
  std::string socket_path() const { return dir_.file(name_ + ".sock"); }
  std::string pidfile() const { return dir_.file(name_ + ".pid"); }
  std::string log_file() const { return dir_.file(name_ + ".log"); }
  std::string stderr_path() const { return dir_.file(name_ + ".stderr"); }

  // Launches and waits for the ready line; a failure carries kleened's error and stderr.
  testing::AssertionResult start();
  // Launches without asserting anything; for tests of refused start-ups.
  LaunchOutcome launch();
  // SIGTERM, then waits kStopTimeout for the exit (SIGKILL after it, reported as failure).
  testing::AssertionResult stop(int expected_exit_code = 0);
  // SIGKILL (a crash: nothing of kleened's own clean-up runs) and waits for the exit. What it
  // started (keepers, zfs commands) is not signalled.
  testing::AssertionResult kill_hard();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::vector<std::string>& listening() const { return listening_; }
  // The first listening address that starts with `prefix` ("http:///", "http://127.", ...).
  std::string address(std::string_view prefix) const;
  // "host:port" of the first address that starts with `prefix`, without the scheme.
  std::string authority(std::string_view prefix) const;
  std::string stderr_text() const { return read_file(stderr_path()); }

 private:
  const TempDir& dir_;
  std::string name_;
  nlohmann::json config_;
  std::optional<std::string> raw_config_;
  std::string netns_path_;
  pid_t pid_ = -1;
  std::vector<std::string> listening_;
};

// The config as block YAML (JSON-quoted scalars, which YAML reads as double-quoted strings).
std::string to_yaml(const nlohmann::json& value, int indent = 0);

}  // namespace kleene::it
