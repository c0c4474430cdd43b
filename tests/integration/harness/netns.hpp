// Network namespaces made by a test, so that containers on networks, kleened's forwarding
// sysctls and its nftables tables live in a namespace of the test and never on the host.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <expected>
#include <memory>
#include <string>
#include <vector>

#include "process.hpp"

namespace kleene::it {

// A named network namespace "kl-it-<pid>-<n>", bound at /run/netns/<name> as `ip netns add`
// does (so `ip netns list`, `ip -n` and the host-state check see it), with lo up. Removed
// (unbound) on destruction; processes still inside keep it alive, unnamed, until they end.
class TestNetns {
 public:
  static constexpr const char* kRunDir = "/run/netns";

  // A failure carries what went wrong.
  static std::expected<std::unique_ptr<TestNetns>, std::string> create();
  ~TestNetns();
  TestNetns(const TestNetns&) = delete;
  TestNetns& operator=(const TestNetns&) = delete;

  const std::string& name() const { return name_; }
  std::string path() const { return std::string(kRunDir) + "/" + name_; }
  int fd() const { return fd_.get(); }

  // Runs `argv` in this network namespace only (setns in the child before exec; the mount
  // namespace stays ours, unlike `ip netns exec`). argv[0] is a program found in PATH or an
  // absolute path.
  ProcessResult run(std::vector<std::string> argv,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // `ip ARGS...` inside; success or the command's output.
  testing::AssertionResult ip(const std::vector<std::string>& args) const;
  // `ip route add DESTINATION via GATEWAY` inside; DESTINATION "default" or a CIDR.
  testing::AssertionResult add_route(const std::string& destination,
                                     const std::string& gateway) const {
    return ip({"route", "add", destination, "via", gateway});
  }
  // The non-empty output lines of `ip ARGS...` inside (none when it fails).
  std::vector<std::string> ip_lines(const std::vector<std::string>& args) const;
  // A socket created in this namespace; it stays bound to it wherever it is used afterwards.
  UniqueFd socket(int domain, int type) const;

  // Unbinds the name; idempotent. The destructor calls it.
  testing::AssertionResult remove();

 private:
  TestNetns(std::string name, UniqueFd fd) : name_(std::move(name)), fd_(std::move(fd)) {}

  std::string name_;
  UniqueFd fd_;
  bool removed_ = false;
};

// The network namespace at `path` (/run/netns/<name>, /proc/<pid>/ns/net), opened O_CLOEXEC;
// an empty UniqueFd when it cannot be opened.
UniqueFd open_netns(const std::string& path);

// socket(domain, type | SOCK_CLOEXEC) created on a short-lived thread that entered the
// network namespace `netns_fd`; throws std::system_error on failure.
UniqueFd socket_in_netns(int netns_fd, int domain, int type);

// A veth pair between two namespaces, made inside `a` (it never appears in ours): `a_if` with
// address `a_cidr` in `a`, `b_if` with `b_cidr` in `b`, both up. Names must start with "kl".
testing::AssertionResult connect_veth(const TestNetns& a, const std::string& a_if,
                                      const std::string& a_cidr, const TestNetns& b,
                                      const std::string& b_if, const std::string& b_cidr);

}  // namespace kleene::it
