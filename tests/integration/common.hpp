#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "daemon_process.hpp"
#include "http_client.hpp"
#include "paths.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace kleene::it {

using nlohmann::json;

// Everything a failed klee assertion needs to be understood.
inline std::string describe(const ProcessResult& r) {
  std::ostringstream s;
  s << "exit code " << r.exit_code << (r.timed_out ? " (timed out)" : "") << "\n--- stdout ---\n"
    << r.out << "\n--- stderr ---\n"
    << r.err;
  return s.str();
}

inline bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

inline std::string lower(std::string s) {
  std::ranges::transform(s, s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// The first column of every line of a `klee ... ls` table (header included).
inline std::set<std::string> first_column(const std::string& table) {
  std::set<std::string> names;
  std::istringstream in(table);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string first;
    if (fields >> first) names.insert(first);
  }
  return names;
}

inline const std::vector<std::string>& builtin_plugins() {
  static const std::vector<std::string> names{"builder", "host", "ipnet", "vnet", "zfs"};
  return names;
}

// `klee version` answered by the daemon: a client block, then a server block naming kleened
// and its version.
inline testing::AssertionResult version_round_trip(const ProcessResult& r) {
  if (r.exit_code != 0) return testing::AssertionFailure() << describe(r);
  size_t server = r.out.find("Server:");
  if (!contains(r.out, "Client:") || server == std::string::npos ||
      !contains(r.out.substr(server), "kleened") ||
      !contains(r.out.substr(server), paths::version())) {
    return testing::AssertionFailure()
           << "no server block naming kleened " << paths::version() << " in:\n"
           << describe(r);
  }
  return testing::AssertionSuccess();
}

// The unreachable-daemon contract: exit 1 and Kleene's message on stderr.
inline testing::AssertionResult refused_connection(const ProcessResult& r) {
  if (r.exit_code == 1 && contains(r.err, "unable to connect to kleened:")) {
    return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << "expected exit 1 and 'unable to connect to kleened:'\n"
                                     << describe(r);
}

// A test with its own temp dir and a kleened (not started) configured to live inside it.
class KleenedTest : public testing::Test {
 protected:
  std::string unix_host() const { return "http://" + daemon.socket_path(); }

  TempDir dir;
  DaemonProcess daemon{dir};
};

}  // namespace kleene::it
