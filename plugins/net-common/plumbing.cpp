#include "net-common/plumbing.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "kleene/plugin/sdk.hpp"

namespace kleene::netdrv {
namespace {

constexpr int kMaxInterfaces = 4096;  // ethN numbers tried before giving up
constexpr int kAttempts = 4;          // create_veth_into tries when ethN is taken meanwhile

}  // namespace

void fail(std::string_view op, const Error& error) {
  throw sdk::Error(KLEENE_E_FAILED, std::string(op) + ": " + error.message);
}

UniqueFd open_container_netns(const std::string& path) {
  auto fd = netlink::open_netns(path);
  if (fd) {
    // The host's own namespace is no container's: its ethN and routes are not ours to make.
    struct stat container {};
    struct stat host {};
    if (::fstat(fd->get(), &container) == 0 && ::stat("/proc/thread-self/ns/net", &host) == 0 &&
        container.st_dev == host.st_dev && container.st_ino == host.st_ino) {
      throw sdk::Error(KLEENE_E_INVALID,
                       "container network namespace " + path + " is the host's network namespace");
    }
    return std::move(*fd);
  }
  const kleene_status status = fd.error().code == EINVAL   ? KLEENE_E_INVALID
                               : fd.error().code == ENOENT ? KLEENE_E_NOT_FOUND
                                                           : KLEENE_E_FAILED;
  throw sdk::Error(status, "container network namespace " + path + ": " + fd.error().message);
}

VethGuard::~VethGuard() {
  if (armed_) (void)delete_if_present(host_, name_);
}

std::uint64_t netns_inode(int netns_fd) {
  struct stat st {};
  if (::fstat(netns_fd, &st) != 0) fail("join: netns", Error{errno, std::strerror(errno)});
  return st.st_ino;
}

void leave_veth(const LeaveRequest& leave, char letter) {
  auto nl = check(netlink::Netlink::open(), "leave: netlink");
  for (const auto& link : leave_links(leave, letter))
    check(delete_if_present(nl, link), "leave: delete " + link);
}

std::vector<std::string> leave_links(const LeaveRequest& leave, char letter) {
  std::vector<std::string> links;
  if (!leave.endpoint.interface.empty()) {
    links.push_back(leave.endpoint.interface);
  } else if (!leave.netns.empty()) {
    if (auto fd = netlink::open_netns(leave.netns)) {
      struct stat st {};
      if (::fstat(fd->get(), &st) == 0)
        links.push_back(host_link_name(letter, leave.endpoint.id, st.st_ino));
    }
  }
  links.push_back(legacy_host_link_name(letter, leave.endpoint.id));
  links.push_back(peer_link_name(leave.endpoint.id));
  return links;
}

Result<netlink::Netlink> open_netlink_in(int netns_fd) {
  return netlink::in_netns(netns_fd, [] { return netlink::Netlink::open(); });
}

Result<std::string> first_free_eth(netlink::Netlink& inside) {
  for (int n = 0; n < kMaxInterfaces; ++n) {
    std::string name = "eth" + std::to_string(n);
    if (!TRY(inside.link_exists(name))) return name;
  }
  return make_error(ENOSPC, "no free ethN interface name in the container");
}

Result<std::string> create_veth_into(netlink::Netlink& host, netlink::Netlink& inside,
                                     const std::string& host_name, const std::string& peer_name,
                                     int netns_fd) {
  (void)peer_name;  // the peer is made in the container under its final name
  for (int attempt = 1;; ++attempt) {
    auto name = TRY(first_free_eth(inside));
    auto made = host.create_veth(host_name, name, netns_fd);
    if (made) return name;
    // EEXIST: the host end exists (a joined endpoint: the caller tells), or another join took
    // ethN meanwhile (try the next free one).
    if (made.error().code != EEXIST || attempt == kAttempts || TRY(host.link_exists(host_name)))
      return std::unexpected(std::move(made).error());
  }
}

std::string start_join(netlink::Netlink& host, netlink::Netlink& inside,
                       const std::string& endpoint_id, const std::string& host_name,
                       const std::string& peer_name, int netns_fd) {
  check(delete_if_present(host, peer_name), "join: remove stale " + peer_name);
  auto eth = create_veth_into(host, inside, host_name, peer_name, netns_fd);
  if (!eth && eth.error().code == EEXIST && check(host.link_exists(host_name), "join")) {
    throw sdk::Error(KLEENE_E_EXISTS, "endpoint " + endpoint_id + " is joined already: interface " +
                                          host_name + " exists");
  }
  return check(std::move(eth), "join: endpoint " + endpoint_id);
}

Result<void> write_link_sysctl(std::string_view family, std::string_view link, std::string_view key,
                               std::string_view value) {
  TRY(netlink::validate_interface_name(link));
  const std::string path = "/proc/sys/net/" + std::string(family) + "/conf/" + std::string(link) +
                           "/" + std::string(key);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) return errno_error("open " + path);
  const auto written = ::write(fd.get(), value.data(), value.size());
  if (written != static_cast<ssize_t>(value.size())) return errno_error("write " + path);
  return {};
}

Result<void> delete_if_present(netlink::Netlink& nl, std::string_view name) {
  auto deleted = nl.delete_link(name);
  if (!deleted && deleted.error().code != ENODEV) return deleted;
  return {};
}

}  // namespace kleene::netdrv
