#pragma once

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

namespace kleene::it {

// What a test could leave behind on the host, one line per item ("link klbr0", "netns x",
// "mount /tmp/kleene-it-X/m tmpfs", "nft inet kleene", "zfs pool/ds", "child 123 kleened",
// "tmpdir /tmp/kleene-it-X").
using HostSnapshot = std::set<std::string>;

HostSnapshot take_host_snapshot();

// Items present in `after` but not in `before`.
std::vector<std::string> leaked_items(const HostSnapshot& before, const HostSnapshot& after);

// Snapshots the host before each test and fails the test that leaves anything behind, listing
// the leaked items (Kleene's own test suite does the same). Installed by the test main.
class HostLeakListener : public testing::EmptyTestEventListener {
 public:
  void OnTestStart(const testing::TestInfo& info) override;
  void OnTestEnd(const testing::TestInfo& info) override;

 private:
  HostSnapshot before_;
};

}  // namespace kleene::it
