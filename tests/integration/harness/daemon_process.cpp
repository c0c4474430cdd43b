#include "daemon_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "paths.hpp"
#include "process.hpp"

namespace kleene::it {

namespace {

using nlohmann::json;

// Reads one line from `fd` within `timeout`; nullopt on timeout, "" on EOF without data.
std::optional<std::string> read_line(int fd, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string line;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd pfd{fd, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char c = 0;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0 || c == '\n') return line;
    line.push_back(c);
  }
}

std::string tail(const std::string& text, size_t max = 4000) {
  return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

}  // namespace

std::string to_yaml(const json& value, int indent) {
  std::string pad(static_cast<size_t>(indent), ' ');
  std::string out;
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      out += pad + json(key).dump() + ":";
      if (item.is_structured() && !item.empty()) {
        out += "\n" + to_yaml(item, indent + 2);
      } else {
        out += " " + item.dump() + "\n";
      }
    }
  } else if (value.is_array()) {
    // Entries in flow style: JSON is valid YAML and keeps maps inside lists simple.
    for (const auto& item : value)
      out += pad + "- " + item.dump() + "\n";
  } else {
    out += pad + value.dump() + "\n";
  }
  return out;
}

DaemonProcess::DaemonProcess(const TempDir& dir, std::string name)
    : dir_(dir), name_(std::move(name)) {
  config_ = json{
      // No pool of that name exists: a test that does not set up its own pool must never
      // create datasets on a pool of the host (the quickstart's zroot, say), nor start
      // zfs-fuse or import a pool file.
      {"kleene_root", "kl-it-nopool/kleene"},
      {"plugins",
       json{{"zfs", json{{"zfs_fuse", ""}, {"pool_file", dir_.file(name_ + "-no-pool.img")}}}}},
      {"api_listening_sockets", json::array({json{{"address", "http://" + socket_path()}}})},
      {"enable_logging", true},
      {"log_level", "debug"},
      {"log_file", log_file()},
      {"plugin_dirs", json::array({paths::plugin_dir()})},
      {"keeper_path", paths::keeper()},
      {"run_dir", dir_.file(name_ + "-run")},
      {"pidfile", pidfile()},
      {"metadata_db", dir_.file(name_ + "-db/metadata.sqlite")},
  };
}

DaemonProcess::~DaemonProcess() {
  if (running()) {
    auto stopped = stop();
    if (!stopped) ADD_FAILURE() << stopped.message();
  }
}

LaunchOutcome DaemonProcess::launch() {
  LaunchOutcome outcome;
  write_file(config_path(), raw_config_ ? *raw_config_ : to_yaml(config_));
  UniqueFd err(::open(stderr_path().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  UniqueFd netns;
  if (!netns_path_.empty()) {
    netns.reset(::open(netns_path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns) {
      outcome.error = "cannot open network namespace " + netns_path_ + ": " + std::strerror(errno);
      return outcome;
    }
  }
  Pipe ready = make_pipe();
  SpawnSpec spec;
  spec.netns_fd = netns.get();
  spec.argv = {paths::kleened(), "--foreground", "--config", config_path(), "--ready-fd", "3"};
  spec.env = test_environment();
  spec.stdout_fd = err.get();
  spec.stderr_fd = err.get();
  spec.pass_fds = {ready.write.get()};
  pid_t pid = spawn(spec);
  ready.write.reset();

  auto line = read_line(ready.read.get(), kStartTimeout);
  if (!line) {
    ::kill(pid, SIGKILL);
    wait_for_exit(pid, kStopTimeout);
    outcome.error = "no ready line within " + std::to_string(kStartTimeout.count()) + " s";
    return outcome;
  }
  json parsed = json::parse(*line, nullptr, false);
  if (!line->empty() && parsed.is_object() && parsed.contains("listening")) {
    pid_ = pid;
    listening_ = parsed["listening"].get<std::vector<std::string>>();
    outcome.ready = true;
    return outcome;
  }
  if (parsed.is_object() && parsed.contains("error")) {
    outcome.error = parsed["error"].get<std::string>();
  } else {
    outcome.error = line->empty() ? "ready fd closed without a line" : "bad ready line: " + *line;
  }
  outcome.exit_code = wait_for_exit(pid, kStopTimeout);
  if (!outcome.exit_code) {
    ::kill(pid, SIGKILL);
    wait_for_exit(pid, kStopTimeout);
    outcome.error += " (and it did not exit)";
  }
  return outcome;
}

testing::AssertionResult DaemonProcess::start() {
  if (running()) return testing::AssertionFailure() << name_ << " already running";
  LaunchOutcome outcome = launch();
  if (outcome.ready) return testing::AssertionSuccess();
  auto failure = testing::AssertionFailure() << "kleened did not start: " << outcome.error;
  if (outcome.exit_code) failure << " (exit code " << *outcome.exit_code << ")";
  return failure << "\n--- kleened stderr ---\n" << tail(stderr_text());
}

testing::AssertionResult DaemonProcess::stop(int expected_exit_code) {
  if (!running()) return testing::AssertionFailure() << name_ << " is not running";
  pid_t pid = std::exchange(pid_, -1);
  ::kill(pid, SIGTERM);
  auto code = wait_for_exit(pid, kStopTimeout);
  if (!code) {
    ::kill(pid, SIGKILL);
    wait_for_exit(pid, kStopTimeout);
    return testing::AssertionFailure()
           << "kleened (pid " << pid << ") did not exit within " << kStopTimeout.count()
           << " s of SIGTERM; killed\n--- kleened stderr ---\n"
           << tail(stderr_text());
  }
  if (*code != expected_exit_code) {
    return testing::AssertionFailure() << "kleened exited with " << *code << ", expected "
                                       << expected_exit_code << "\n--- kleened stderr ---\n"
                                       << tail(stderr_text());
  }
  return testing::AssertionSuccess();
}

testing::AssertionResult DaemonProcess::kill_hard() {
  if (!running()) return testing::AssertionFailure() << name_ << " is not running";
  pid_t pid = std::exchange(pid_, -1);
  ::kill(pid, SIGKILL);
  if (!wait_for_exit(pid, kStopTimeout))
    return testing::AssertionFailure() << "kleened (pid " << pid << ") outlived SIGKILL";
  return testing::AssertionSuccess();
}

std::string DaemonProcess::address(std::string_view prefix) const {
  for (const auto& a : listening_) {
    if (a.starts_with(prefix)) return a;
  }
  return "";
}

std::string DaemonProcess::authority(std::string_view prefix) const {
  std::string a = address(prefix);
  auto scheme_end = a.find("://");
  return scheme_end == std::string::npos ? "" : a.substr(scheme_end + 3);
}

}  // namespace kleene::it
