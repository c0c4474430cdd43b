// Network setup and teardown over rtnetlink (libnl-3 / libnl-route-3), never by spawning `ip`.
//
// A Netlink object owns one NETLINK_ROUTE socket. A netlink socket belongs to the network
// namespace of the thread that opened it, for its whole life, so "do X inside a container's
// netns" is: in_netns(fd, [] { auto nl = TRY(Netlink::open()); ... }).
//
// Namespaces: in_netns() runs the operation in a dedicated, short-lived std::thread that joins
// the target namespace with setns(fd, CLONE_NEWNET) and ends when the operation returns. The
// network namespace is per thread (unlike the mount namespace, joining it needs no
// unshare(CLONE_FS)), so the calling thread and the rest of the daemon never change namespace,
// and sockets opened by the operation stay bound to the target namespace. create_netns() is the
// same with unshare(CLONE_NEWNET): it returns an fd that keeps the new namespace alive.
//
// Ownership: delete_link() only deletes links whose name starts with "kl" (kleene*, kl*), the
// prefix of every link kleene creates; any other name is refused with EPERM before the kernel
// is asked. This makes "never destroy an interface kleene did not create" structural.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "util/error.hpp"
#include "util/unique_fd.hpp"

struct nl_sock;

namespace kleene::network::netlink {

// IFNAMSIZ-1 (15) bytes at most, not empty, not "." or "..", only [A-Za-z0-9_.-]
// (a subset of what the kernel allows: no '/', ':', whitespace or control characters).
[[nodiscard]] Result<void> validate_interface_name(std::string_view name);

// True for names kleene creates and may delete: valid and starting with "kl".
[[nodiscard]] bool is_owned_name(std::string_view name);

// An interface address as the kernel reports it.
struct InterfaceAddress {
  int family = 0;       // AF_INET or AF_INET6
  std::string address;  // "10.0.0.2", "fd00::2"
  int prefix = 0;       // 24, 32, 64, 128
  [[nodiscard]] std::string str() const { return address + "/" + std::to_string(prefix); }
};

// A route in the main table. `destination` is a CIDR ("10.0.0.2/32", "fd00::/64") or
// "default" (needs `family`: "default" alone means IPv4 unless the gateway is IPv6).
// At least one of `gateway` and `device` is set. With a gateway and no `onlink`, the gateway
// must be reachable on a connected subnet; `onlink` (RTNH_F_ONLINK) skips that check, as for a
// point-to-point veth without an address on the peer side.
struct Route {
  std::string destination = "default";
  std::string gateway;  // "" = none (a device route, scope link)
  std::string device;   // "" = let the kernel pick the device from the gateway
  bool onlink = false;
  bool replace = false;  // add_route: replace a route to the same destination (NLM_F_REPLACE)
};

class Netlink {
 public:
  // A NETLINK_ROUTE socket in the calling thread's network namespace.
  [[nodiscard]] static Result<Netlink> open();

  Netlink(Netlink&& other) noexcept : sock_(std::exchange(other.sock_, nullptr)) {}
  Netlink& operator=(Netlink&& other) noexcept;
  Netlink(const Netlink&) = delete;
  Netlink& operator=(const Netlink&) = delete;
  ~Netlink();

  // Links. Every name is validated; creating refuses names that are not ours (EPERM) and
  // existing links (EEXIST).
  [[nodiscard]] Result<bool> link_exists(std::string_view name);
  [[nodiscard]] Result<int> link_index(std::string_view name);      // ENODEV if absent
  [[nodiscard]] Result<std::vector<std::string>> link_names();      // every link of the namespace
  [[nodiscard]] Result<void> create_bridge(std::string_view name);  // created and set up
  // Both ends in this namespace, both down. With `peer_netns_fd`, the peer is made directly
  // inside that namespace under its final name (e.g. "eth0"): much cheaper than a move and a
  // rename, each of which waits for an RCU grace period in the kernel.
  [[nodiscard]] Result<void> create_veth(std::string_view host_name, std::string_view peer_name,
                                         int peer_netns_fd = -1);
  // EPERM for names that are not ours (see above), ENODEV if absent. Deleting one end of a
  // veth pair deletes both, wherever the peer is.
  [[nodiscard]] Result<void> delete_link(std::string_view name);
  // Move `name` into the namespace `netns_fd` and, if `new_name` is not empty, rename it there
  // (e.g. to "eth0"). The link is down afterwards.
  [[nodiscard]] Result<void> move_link_to_netns(std::string_view name, int netns_fd,
                                                std::string_view new_name = {});
  [[nodiscard]] Result<void> set_master(std::string_view link, std::string_view bridge);
  // The interface group (devgroup) of one of our links (the firewall matches it).
  [[nodiscard]] Result<void> set_group(std::string_view link, std::uint32_t group);
  // Bridge port isolation of one of our links: isolated ports of a bridge do not reach each
  // other (a network's icc false at layer 2), only the others and the bridge itself.
  [[nodiscard]] Result<void> set_bridge_port_isolated(std::string_view link, bool isolated);
  [[nodiscard]] Result<void> set_up(std::string_view link);
  [[nodiscard]] Result<void> set_down(std::string_view link);

  // Addresses: "10.0.0.2/24", "10.0.0.2/32", "fd00::2/64" (no prefix = a host address).
  // IPv6 addresses are added with IFA_F_NODAD so they are usable at once.
  [[nodiscard]] Result<void> add_address(std::string_view link, std::string_view cidr);
  [[nodiscard]] Result<void> delete_address(std::string_view link, std::string_view cidr);
  [[nodiscard]] Result<std::vector<InterfaceAddress>> addresses(std::string_view link);

  // Routes in the main table (protocol static).
  [[nodiscard]] Result<void> add_route(const Route& route);
  [[nodiscard]] Result<void> delete_route(const Route& route);
  // "default" via `gateway` (if not empty) and/or dev `device` (if not empty).
  [[nodiscard]] Result<void> add_default_route(std::string_view gateway,
                                               std::string_view device = {});

 private:
  explicit Netlink(nl_sock* sock) : sock_(sock) {}
  Result<void> change_flags(std::string_view link, unsigned flags, bool set);
  Result<void> route_op(const Route& route, bool add);

  nl_sock* sock_ = nullptr;
};

// Open a namespace reference: "/proc/<pid>/ns/net", "/run/netns/x", any nsfs path.
// O_RDONLY|O_CLOEXEC; EINVAL if it is not a network namespace.
[[nodiscard]] Result<UniqueFd> open_netns(const std::string& path);

// A new, empty network namespace (only `lo`, down), alive as long as the fd is open.
[[nodiscard]] Result<UniqueFd> create_netns();

namespace detail {
// setns(netns_fd, CLONE_NEWNET) in the calling thread (only ever a thread of in_netns()).
[[nodiscard]] Result<void> enter_netns(int netns_fd);
}  // namespace detail

// Run `operation` (returning Result<T>) in a dedicated thread inside the network namespace
// `netns_fd`, and return its result. Blocks until the thread ends. `operation` must not throw
// (an exception would end the thread, hence the process); anything it opens in its namespace
// (netlink or other sockets) may be returned and used from any thread afterwards.
template <typename F>
auto in_netns(int netns_fd, F&& operation) -> decltype(operation()) {
  using R = decltype(operation());
  std::optional<R> result;
  try {
    std::thread worker([&] {
      if (auto entered = detail::enter_netns(netns_fd); !entered) {
        result.emplace(std::unexpected(std::move(entered).error()));
        return;
      }
      result.emplace(operation());
    });
    worker.join();
  } catch (const std::system_error& e) {  // no thread could be started
    return std::unexpected(Error{e.code().value(), std::string("network namespace: ") + e.what()});
  }
  return std::move(*result);
}

}  // namespace kleene::network::netlink
