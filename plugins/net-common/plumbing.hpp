// Kernel plumbing both drivers share: a veth pair whose container end lands in a container's
// network namespace as its first free ethN, a guard that removes the pair again when a join
// fails, per-link sysctls, and the mapping of kernel errors to plugin errors.
//
// Everything here runs in the calling thread's network namespace ("the host": kleened's
// namespace in production, a test's namespace in the tests) except what goes through
// network::netlink::in_netns().
#pragma once

#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "net-common/request.hpp"
#include "network/netlink.hpp"
#include "util/error.hpp"
#include "util/unique_fd.hpp"

namespace kleene::netdrv {

namespace netlink = kleene::network::netlink;

// Throw kleene::sdk::Error(KLEENE_E_FAILED) for a failed kernel operation; the message is
// "<op>: <error>" (the core prefixes the plugin's name).
[[noreturn]] void fail(std::string_view op, const Error& error);

// The value of `result`, or fail(op, its error).
template <typename T>
T check(Result<T> result, std::string_view op) {
  if (!result) fail(op, result.error());
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

// open_netns() for a request's netns: KLEENE_E_INVALID if it is not a network namespace or is
// the calling thread's own (the host's), KLEENE_E_NOT_FOUND if it does not exist (the
// container is gone).
[[nodiscard]] UniqueFd open_container_netns(const std::string& path);

// Deletes the host end of a veth pair (and with it the peer, wherever it is) when it goes out
// of scope, unless dismissed: a join that throws halfway leaves nothing behind.
class VethGuard {
 public:
  VethGuard(netlink::Netlink& host, std::string name) : host_(host), name_(std::move(name)) {}
  ~VethGuard();
  VethGuard(const VethGuard&) = delete;
  VethGuard& operator=(const VethGuard&) = delete;
  void dismiss() noexcept { armed_ = false; }

 private:
  netlink::Netlink& host_;
  std::string name_;
  bool armed_ = true;
};

// Every leave: deletes what leave_links() names (deleting the host end deletes the container
// end and the host routes through it). Throws KLEENE_E_FAILED when a deletion fails.
void leave_veth(const LeaveRequest& leave, char letter);

// The links a leave deletes (those present): the host end the join answered, or else the one
// it names in the request's namespace (when that still exists), and the names of earlier
// versions (host end and container end before its move).
[[nodiscard]] std::vector<std::string> leave_links(const LeaveRequest& leave, char letter);

// The inode number of a namespace file (part of host-side link names).
[[nodiscard]] std::uint64_t netns_inode(int netns_fd);

// A netlink socket in the namespace `netns_fd` (opened by a short-lived thread there; usable
// from any thread afterwards).
[[nodiscard]] Result<netlink::Netlink> open_netlink_in(int netns_fd);

// The first "ethN" (N = 0, 1, ...) that does not exist where `inside` was opened.
[[nodiscard]] Result<std::string> first_free_eth(netlink::Netlink& inside);

// Create the pair: host_name in the host, the peer directly inside `netns_fd` as the first free
// ethN there (no move and no rename: each of those waits for an RCU grace period, ~10-20 ms);
// returns that name. Both ends are down. On failure nothing is made. A concurrent join that
// takes the same ethN first makes this retry with the next one. EEXIST means host_name exists
// already (another endpoint's, left untouched). `peer_name` (the temporary name of the older
// create-then-move scheme) is only removed by start_join when a stale one is found.
[[nodiscard]] Result<std::string> create_veth_into(netlink::Netlink& host, netlink::Netlink& inside,
                                                   const std::string& host_name,
                                                   const std::string& peer_name, int netns_fd);

// The start of every join: remove a stale peer left by a join that died halfway (kleened
// killed), create the pair with the peer in the container (create_veth_into). Throws
// KLEENE_E_EXISTS when `host_name` exists (the endpoint is joined to this namespace already; it
// stays untouched), KLEENE_E_FAILED for other errors. Returns the container's ethN.
[[nodiscard]] std::string start_join(netlink::Netlink& host, netlink::Netlink& inside,
                                     const std::string& endpoint_id, const std::string& host_name,
                                     const std::string& peer_name, int netns_fd);

// Every join: the pair with its container end made inside the container's namespace, then
// `host_side(host, link)` and `container_side(inside, eth)` (one netlink socket in the
// container's namespace, used from this thread: no thread per step). A step that throws or
// fails removes the pair again. Returns {host-side link, container-side ethN}.
template <typename HostSide, typename ContainerSide>
std::pair<std::string, std::string> join_veth(const JoinRequest& req, char letter,
                                              netlink::Netlink& host, HostSide&& host_side,
                                              ContainerSide&& container_side) {
  const auto netns = open_container_netns(req.netns);
  const std::string link = host_link_name(letter, req.endpoint.id, netns_inode(netns.get()));
  auto inside =
      check(open_netlink_in(netns.get()), "join: netlink in the container of " + req.container_id);
  const std::string eth =
      start_join(host, inside, req.endpoint.id, link, peer_link_name(req.endpoint.id), netns.get());
  VethGuard guard(host, link);
  host_side(host, link);
  check(container_side(inside, eth),
        "join: configure " + eth + " of container " + req.container_id);
  guard.dismiss();
  return {link, eth};
}

// Write /proc/sys/net/<family>/conf/<link>/<key> ("ipv6", "kliab", "accept_ra", "0") in the
// calling thread's network namespace.
[[nodiscard]] Result<void> write_link_sysctl(std::string_view family, std::string_view link,
                                             std::string_view key, std::string_view value);

// Delete an owned link; a link that is already gone (ENODEV) is success.
[[nodiscard]] Result<void> delete_if_present(netlink::Netlink& nl, std::string_view name);

}  // namespace kleene::netdrv
