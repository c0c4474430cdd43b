#include "host_state.hpp"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "process.hpp"

namespace kleene::it {

namespace {

bool ours(const std::string& name) {
  return name.starts_with("kl");
}

// Output lines of a host tool; empty when the tool is missing or fails (e.g. no zfs pool).
std::vector<std::string> tool_lines(const std::string& tool, std::vector<std::string> args) {
  std::string path = find_program(tool);
  if (path.empty()) return {};
  args.insert(args.begin(), path);
  ProcessResult result = run_command(args, test_environment(), std::chrono::seconds(10));
  if (result.exit_code != 0) return {};
  std::vector<std::string> lines;
  std::istringstream in(result.out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

void add_children(HostSnapshot& snapshot) {
  std::string self = std::to_string(::getpid());
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::string pid = entry.path().filename();
    if (!std::ranges::all_of(pid, ::isdigit)) continue;
    std::ifstream status(entry.path() / "status");
    std::string line, name;
    while (std::getline(status, line)) {
      if (line.starts_with("Name:")) name = line.substr(line.find_first_not_of(" \t", 5));
      if (line.starts_with("PPid:") && line.substr(line.find_first_not_of(" \t", 5)) == self) {
        snapshot.insert("child " + pid + " " + name);
      }
    }
  }
}

// Processes of ours wherever they were reparented: keepers and the processes of containers
// (in a pid namespace other than ours).
void add_our_processes(HostSnapshot& snapshot) {
  std::error_code ec;
  std::string own_ns;
  {
    char buf[64] = {};
    ssize_t n = ::readlink("/proc/self/ns/pid", buf, sizeof buf - 1);
    if (n > 0) own_ns.assign(buf, static_cast<size_t>(n));
  }
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::string pid = entry.path().filename();
    if (!std::ranges::all_of(pid, ::isdigit)) continue;
    std::string comm;
    std::ifstream(entry.path() / "comm") >> comm;
    // An exited process PID 1 has not reaped yet (this host's PID 1 reaps late) is gone.
    std::string stat;
    std::getline(std::ifstream(entry.path() / "stat"), stat);
    const auto paren = stat.rfind(')');
    if (paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] == 'Z') continue;
    if (comm == "kleene-keeper") snapshot.insert("keeper " + pid);
    char buf[64] = {};
    ssize_t n = ::readlink((entry.path() / "ns/pid").c_str(), buf, sizeof buf - 1);
    if (n > 0 && std::string(buf, static_cast<size_t>(n)) != own_ns)
      snapshot.insert("process in another pid namespace " + pid + " " + comm);
  }
}

// Our cgroups in every v1 hierarchy and in the unified one.
void add_cgroups(HostSnapshot& snapshot) {
  std::error_code ec;
  for (const auto& hierarchy : std::filesystem::directory_iterator("/sys/fs/cgroup", ec)) {
    for (const std::filesystem::path& group :
         {hierarchy.path() / "kleene", hierarchy.path() / "kleene-it"}) {
      std::error_code inner;
      if (!std::filesystem::is_directory(group, inner)) continue;
      for (const auto& entry : std::filesystem::directory_iterator(group, inner)) {
        if (entry.is_directory(inner)) snapshot.insert("cgroup " + entry.path().string());
      }
    }
  }
}

void add_links(HostSnapshot& snapshot) {
  for (const auto& line : tool_lines("ip", {"-o", "link", "show"})) {
    // "12: klbr0@if3: <BROADCAST,...> ..."
    auto start = line.find(": ");
    if (start == std::string::npos) continue;
    std::string name = line.substr(start + 2, line.find(':', start + 2) - start - 2);
    name = name.substr(0, name.find('@'));
    if (ours(name)) snapshot.insert("link " + name);
  }
}

void add_mounts(HostSnapshot& snapshot) {
  std::ifstream mounts("/proc/self/mounts");
  for (std::string line; std::getline(mounts, line);) {
    if (line.find("kleene") == std::string::npos) continue;
    std::istringstream fields(line);
    std::string device, target, type;
    fields >> device >> target >> type;
    snapshot.insert("mount " + target + " " + type + " " + device);
  }
}

void add_nft_tables(HostSnapshot& snapshot) {
  for (const auto& line : tool_lines("nft", {"list", "tables"})) {
    // "table inet kleene"
    std::istringstream fields(line);
    std::string word, family, name;
    fields >> word >> family >> name;
    if (ours(name)) snapshot.insert("nft " + family + " " + name);
  }
}

void add_temp_dirs(HostSnapshot& snapshot) {
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/tmp", ec)) {
    if (entry.path().filename().string().starts_with("kleene-it-")) {
      snapshot.insert("tmpdir " + entry.path().string());
    }
  }
}

}  // namespace

HostSnapshot take_host_snapshot() {
  HostSnapshot snapshot;
  add_children(snapshot);  // first: the tools run below are children for a moment
  add_our_processes(snapshot);
  add_cgroups(snapshot);
  add_links(snapshot);
  for (const auto& line : tool_lines("ip", {"netns", "list"})) {
    snapshot.insert("netns " + line.substr(0, line.find(' ')));
  }
  add_mounts(snapshot);
  add_nft_tables(snapshot);
  // Datasets of the tests' own pools (kl*): a zfs-fuse a test starts also imports the host's
  // pools from zpool.cache (a quickstart's zroot), which no test touches.
  for (const auto& line : tool_lines("zfs", {"list", "-H", "-o", "name"})) {
    if (line.starts_with("kl")) snapshot.insert("zfs " + line);
  }
  add_temp_dirs(snapshot);
  return snapshot;
}

std::vector<std::string> leaked_items(const HostSnapshot& before, const HostSnapshot& after) {
  std::vector<std::string> leaked;
  std::ranges::set_difference(after, before, std::back_inserter(leaked));
  return leaked;
}

void HostLeakListener::OnTestStart(const testing::TestInfo&) {
  before_ = take_host_snapshot();
}

void HostLeakListener::OnTestEnd(const testing::TestInfo&) {
  // Runs before the result printer's OnTestEnd (listeners end in reverse order), while the
  // test is still current, so the failure is charged to the test that leaked.
  auto leaked = leaked_items(before_, take_host_snapshot());
  if (leaked.empty()) return;
  std::string list;
  for (const auto& item : leaked)
    list += "\n  " + item;
  ADD_FAILURE() << "host state leaked by this test:" << list;
}

}  // namespace kleene::it
