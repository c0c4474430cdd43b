// The netlink library against the real kernel. Every link, address and route is created inside
// network namespaces the test creates (create_netns(): unshare(CLONE_NEWNET) in a thread); the
// host namespace is only read, and each test checks that it left the host's links as it found
// them and holds no namespace reference any more.
#include "network/netlink.hpp"
#include "support/netns_tcp.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "util/unique_fd.hpp"

namespace nl = kleene::network::netlink;
using kleene::Result;
using kleene::UniqueFd;

namespace {

std::set<std::string> host_links() {
  std::set<std::string> links;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/net")) {
    links.insert(entry.path().filename().string());
  }
  return links;
}

ino_t netns_inode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_ino;
}

using kleene::test::netns_fds;

// Threads of this process that are not in the host's network namespace.
int threads_outside_host_netns(ino_t host) {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    if (netns_inode(entry.path().string() + "/ns/net") != host) ++count;
  }
  return count;
}

class NetlinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    host_netns_ = netns_inode("/proc/self/ns/net");
    ASSERT_NE(host_netns_, 0U);
    links_before_ = host_links();
    fds_before_ = netns_fds();
  }

  void TearDown() override {
    EXPECT_EQ(host_links(), links_before_) << "the host's links changed";
    EXPECT_EQ(netns_fds(), fds_before_) << "a network namespace reference was left open";
    EXPECT_EQ(threads_outside_host_netns(host_netns_), 0);
    EXPECT_EQ(netns_inode("/proc/self/ns/net"), host_netns_);
  }

  static UniqueFd make_netns() {
    auto fd = nl::create_netns();
    EXPECT_TRUE(fd) << fd.error().message;
    return fd ? std::move(*fd) : UniqueFd();
  }

  ino_t host_netns_ = 0;
  std::set<std::string> links_before_;
  int fds_before_ = 0;
};

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    auto&& r_ = (expr);                                     \
    ASSERT_TRUE(r_) << #expr << ": " << r_.error().message; \
  } while (0)

using kleene::test::connect_from;
using kleene::test::expect_tcp;

std::vector<std::string> address_strings(const std::vector<nl::InterfaceAddress>& addresses) {
  std::vector<std::string> out;
  for (const auto& a : addresses)
    out.push_back(a.str());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(NetlinkNames, Validation) {
  EXPECT_TRUE(nl::validate_interface_name("kleene0"));
  EXPECT_TRUE(nl::validate_interface_name("kl_a-b.c"));
  EXPECT_TRUE(nl::validate_interface_name("eth0"));
  EXPECT_TRUE(nl::validate_interface_name("kl0123456789abc"));  // 15 = IFNAMSIZ - 1
  EXPECT_EQ(nl::validate_interface_name("kl0123456789abcd").error().code, EINVAL);
  EXPECT_FALSE(nl::validate_interface_name(""));
  EXPECT_FALSE(nl::validate_interface_name("."));
  EXPECT_FALSE(nl::validate_interface_name(".."));
  EXPECT_FALSE(nl::validate_interface_name("kl/0"));
  EXPECT_FALSE(nl::validate_interface_name("kl:0"));
  EXPECT_FALSE(nl::validate_interface_name("kl 0"));
  EXPECT_FALSE(nl::validate_interface_name(std::string("kl\0x", 4)));
  EXPECT_FALSE(nl::validate_interface_name("kl\n"));
  EXPECT_FALSE(nl::validate_interface_name("klé"));
  EXPECT_TRUE(nl::is_owned_name("kleene3"));
  EXPECT_TRUE(nl::is_owned_name("kl0"));
  EXPECT_FALSE(nl::is_owned_name("eth0"));
  EXPECT_FALSE(nl::is_owned_name("lo"));
  EXPECT_FALSE(nl::is_owned_name("docker0"));
  EXPECT_FALSE(nl::is_owned_name("kl/0"));
}

TEST_F(NetlinkTest, InNetnsRunsInTheTargetNamespaceOnly) {
  auto ns = make_netns();
  ASSERT_TRUE(ns);
  struct stat want {};
  ASSERT_EQ(fstat(ns.get(), &want), 0);
  auto inode = nl::in_netns(
      ns.get(), []() -> Result<ino_t> { return netns_inode("/proc/thread-self/ns/net"); });
  ASSERT_OK(inode);
  EXPECT_EQ(*inode, want.st_ino);
  EXPECT_NE(*inode, host_netns_);
  // A fresh namespace has only lo.
  auto has_lo = nl::in_netns(ns.get(), []() -> Result<bool> {
    auto n = TRY(nl::Netlink::open());
    return n.link_exists("lo");
  });
  ASSERT_OK(has_lo);
  EXPECT_TRUE(*has_lo);
  // A bad fd is an error, not a crash.
  auto bad = nl::in_netns(-1, []() -> Result<void> { return {}; });
  EXPECT_FALSE(bad);
  // open_netns refuses what is not a network namespace.
  auto not_ns = nl::open_netns("/proc/self/ns/uts");
  ASSERT_FALSE(not_ns);
  EXPECT_EQ(not_ns.error().code, EINVAL);
  auto own = nl::open_netns("/proc/self/ns/net");
  ASSERT_OK(own);
}

TEST_F(NetlinkTest, BridgeCreateAndDelete) {
  auto ns = make_netns();
  ASSERT_TRUE(ns);
  auto result = nl::in_netns(ns.get(), []() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    if (TRY(n.link_exists("kleene0"))) return kleene::make_error(EIO, "exists before create");
    TRY(n.create_bridge("kleene0"));
    if (!TRY(n.link_exists("kleene0"))) return kleene::make_error(EIO, "missing after create");
    auto again = n.create_bridge("kleene0");
    if (again || again.error().code != EEXIST) {
      return kleene::make_error(EIO, "second create did not fail with EEXIST");
    }
    TRY(n.add_address("kleene0", "10.13.37.1/24"));
    TRY(n.add_address("kleene0", "fd00:1337::1/64"));
    auto addresses = TRY(n.addresses("kleene0"));
    std::vector<std::string> got;
    for (const auto& a : addresses)
      got.push_back(a.str());
    if (std::find(got.begin(), got.end(), "10.13.37.1/24") == got.end() ||
        std::find(got.begin(), got.end(), "fd00:1337::1/64") == got.end()) {
      return kleene::make_error(EIO, "addresses not listed");
    }
    TRY(n.delete_address("kleene0", "fd00:1337::1/64"));
    TRY(n.delete_link("kleene0"));
    if (TRY(n.link_exists("kleene0"))) return kleene::make_error(EIO, "exists after delete");
    auto gone = n.delete_link("kleene0");
    if (gone || gone.error().code != ENODEV) {
      return kleene::make_error(EIO, "deleting a missing link did not fail with ENODEV");
    }
    return {};
  });
  ASSERT_OK(result);
}

TEST_F(NetlinkTest, RefusesToTouchLinksItDidNotCreate) {
  auto ns = make_netns();
  ASSERT_TRUE(ns);
  auto result = nl::in_netns(ns.get(), []() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    for (const char* name : {"lo", "eth0", "docker0", "br0"}) {
      auto deleted = n.delete_link(name);
      if (deleted || deleted.error().code != EPERM) {
        return kleene::make_error(EIO, std::string("delete_link(") + name + ") not refused");
      }
    }
    auto created = n.create_bridge("br0");
    if (created || created.error().code != EPERM) {
      return kleene::make_error(EIO, "create_bridge(br0) not refused");
    }
    auto invalid = n.delete_link("kl/../x");
    if (invalid || invalid.error().code != EINVAL) {
      return kleene::make_error(EIO, "invalid name not refused with EINVAL");
    }
    if (!TRY(n.link_exists("lo"))) return kleene::make_error(EIO, "lo is gone");
    return {};
  });
  ASSERT_OK(result);
  // Same in the host namespace: refused before the kernel is asked.
  auto host = nl::Netlink::open();
  ASSERT_OK(host);
  auto refused = host->delete_link("lo");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, EPERM);
  EXPECT_NE(refused.error().message.find("not created by kleene"), std::string::npos);
}

// A veth pair, one end moved into a second namespace and renamed eth0; TCP over IPv4 and IPv6
// between the two namespaces.
TEST_F(NetlinkTest, VethAcrossNamespacesCarriesTcp) {
  auto a = make_netns();
  auto b = make_netns();
  ASSERT_TRUE(a && b);
  const int b_fd = b.get();
  ASSERT_OK(nl::in_netns(a.get(), [&]() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    TRY(n.set_up("lo"));
    TRY(n.create_veth("klv0", "klv0p"));
    TRY(n.move_link_to_netns("klv0p", b_fd, "eth0"));
    if (TRY(n.link_exists("klv0p"))) return kleene::make_error(EIO, "peer still in a");
    TRY(n.add_address("klv0", "10.77.0.1/24"));
    TRY(n.add_address("klv0", "fd00:77::1/64"));
    TRY(n.set_up("klv0"));
    return {};
  }));
  ASSERT_OK(nl::in_netns(b.get(), [&]() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    TRY(n.set_up("lo"));
    if (TRY(n.link_exists("klv0p"))) return kleene::make_error(EIO, "not renamed");
    TRY(n.add_address("eth0", "10.77.0.2/24"));
    TRY(n.add_address("eth0", "fd00:77::2/64"));
    TRY(n.set_up("eth0"));
    auto got = address_strings(TRY(n.addresses("eth0")));
    if (std::find(got.begin(), got.end(), "10.77.0.2/24") == got.end()) {
      return kleene::make_error(EIO, "10.77.0.2/24 not listed on eth0");
    }
    return {};
  }));

  for (const auto& [family, server] : {std::pair{AF_INET, std::string("10.77.0.1")},
                                       std::pair{AF_INET6, std::string("fd00:77::1")}}) {
    ASSERT_NO_FATAL_FAILURE(expect_tcp(a.get(), b.get(), family, server, 7777));
  }
  // Deleting the host end removes the pair, eth0 in b included.
  ASSERT_OK(nl::in_netns(a.get(), []() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    return n.delete_link("klv0");
  }));
  auto eth0 = nl::in_netns(b.get(), []() -> Result<bool> {
    auto n = TRY(nl::Netlink::open());
    return n.link_exists("eth0");
  });
  ASSERT_OK(eth0);
  EXPECT_FALSE(*eth0);
}

// vnet style: a bridge with the gateway address, the container end enslaved to it, the other
// end in the "container" with an address of the subnet and a default route via the gateway.
// Reaching an address that only the default route leads to proves the route.
TEST_F(NetlinkTest, BridgeWithDefaultRouteViaGateway) {
  auto host = make_netns();
  auto container = make_netns();
  ASSERT_TRUE(host && container);
  const int c_fd = container.get();
  ASSERT_OK(nl::in_netns(host.get(), [&]() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    TRY(n.set_up("lo"));
    TRY(n.add_address("lo", "10.99.0.1/32"));  // beyond the subnet: needs the default route
    TRY(n.create_bridge("kleene1"));
    TRY(n.add_address("kleene1", "10.78.0.1/24"));
    TRY(n.create_veth("klbv0", "klbv0p"));
    TRY(n.set_master("klbv0", "kleene1"));
    TRY(n.set_up("klbv0"));
    TRY(n.move_link_to_netns("klbv0p", c_fd, "eth0"));
    return {};
  }));
  ASSERT_OK(nl::in_netns(container.get(), [&]() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    TRY(n.set_up("lo"));
    TRY(n.add_address("eth0", "10.78.0.2/24"));
    TRY(n.set_up("eth0"));
    TRY(n.add_default_route("10.78.0.1"));
    auto twice = n.add_default_route("10.78.0.1");
    if (twice || twice.error().code != EEXIST) {
      return kleene::make_error(EIO, "a second default route did not fail with EEXIST");
    }
    return {};
  }));
  ASSERT_NO_FATAL_FAILURE(expect_tcp(host.get(), container.get(), AF_INET, "10.99.0.1", 8080));

  // Without the default route the address is unreachable.
  ASSERT_OK(nl::in_netns(container.get(), []() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    return n.delete_route(nl::Route{"default", "10.78.0.1", "", false});
  }));
  auto unreachable = connect_from(container.get(), AF_INET, "10.99.0.1", 8080);
  ASSERT_FALSE(unreachable);
  EXPECT_EQ(unreachable.error().code, ENETUNREACH);

  ASSERT_OK(nl::in_netns(host.get(), []() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    TRY(n.delete_link("klbv0"));
    TRY(n.delete_link("kleene1"));
    return {};
  }));
}

// ipnet style: a routed point-to-point veth, /32 and /128 in the container, a host route to it
// on the host side (which has no address), default route "dev eth0" in the container.
TEST_F(NetlinkTest, PointToPointHostRoutes) {
  auto host = make_netns();
  auto container = make_netns();
  ASSERT_TRUE(host && container);
  const int c_fd = container.get();
  ASSERT_OK(nl::in_netns(host.get(), [&]() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    TRY(n.set_up("lo"));
    TRY(n.add_address("lo", "10.98.0.1/32"));
    TRY(n.add_address("lo", "fd00:98::1/128"));
    TRY(n.create_veth("klp0", "klp0p"));
    TRY(n.move_link_to_netns("klp0p", c_fd, "eth0"));
    TRY(n.set_up("klp0"));
    TRY(n.add_route(nl::Route{"10.79.0.2/32", "", "klp0", false}));
    TRY(n.add_route(nl::Route{"fd00:79::2/128", "", "klp0", false}));
    return {};
  }));
  ASSERT_OK(nl::in_netns(container.get(), [&]() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    TRY(n.set_up("lo"));
    TRY(n.add_address("eth0", "10.79.0.2/32"));
    TRY(n.add_address("eth0", "fd00:79::2/128"));
    TRY(n.set_up("eth0"));
    TRY(n.add_default_route("", "eth0"));
    TRY(n.add_route(nl::Route{"::/0", "", "eth0", false}));
    auto got = address_strings(TRY(n.addresses("eth0")));
    if (std::find(got.begin(), got.end(), "10.79.0.2/32") == got.end() ||
        std::find(got.begin(), got.end(), "fd00:79::2/128") == got.end()) {
      return kleene::make_error(EIO, "host addresses not listed");
    }
    return {};
  }));
  ASSERT_NO_FATAL_FAILURE(expect_tcp(host.get(), container.get(), AF_INET, "10.98.0.1", 9090));
  ASSERT_OK(nl::in_netns(host.get(), []() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    return n.delete_link("klp0");
  }));
}

// The way the drivers reach a container: its namespace through /proc/<pid>/ns/net of a process
// (here a forked child that unshared its network namespace and waits on a pipe).
TEST_F(NetlinkTest, WorksThroughProcPidNsNet) {
  int ready[2];
  int release[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(release, O_CLOEXEC), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(ready[0]);
    close(release[1]);
    const char ok = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(1);
    char c;
    (void)read(release[0], &c, 1);  // returns at EOF: the parent closed its end
    _exit(0);
  }
  close(ready[1]);
  close(release[0]);
  UniqueFd release_fd(release[1]);
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  close(ready[0]);
  ASSERT_EQ(ok, 'y');
  {
    auto ns = nl::open_netns("/proc/" + std::to_string(child) + "/ns/net");
    ASSERT_OK(ns);
    auto peer = make_netns();
    ASSERT_TRUE(peer);
    const int peer_fd = peer.get();
    ASSERT_OK(nl::in_netns(ns->get(), [&]() -> Result<void> {
      auto n = TRY(nl::Netlink::open());
      TRY(n.create_veth("klc0", "klc0p"));
      TRY(n.create_veth("klc1", "klc1p"));
      TRY(n.move_link_to_netns("klc0p", peer_fd, "eth0"));
      // A name that exists in the target: the rename fails and the moved link is deleted there,
      // which takes its peer with it.
      auto clash = n.move_link_to_netns("klc1p", peer_fd, "eth0");
      if (clash || clash.error().code != EEXIST) {
        return kleene::make_error(EIO, "rename onto an existing name did not fail with EEXIST: " +
                                           (clash ? std::string("ok") : clash.error().message));
      }
      if (TRY(n.link_exists("klc1"))) return kleene::make_error(EIO, "klc1 left behind");
      // Moving a link kleene did not create is refused.
      auto foreign = n.move_link_to_netns("lo", peer_fd, "kllo");
      if (foreign || foreign.error().code != EPERM) {
        return kleene::make_error(EIO, "moving lo was not refused");
      }
      TRY(n.delete_link("klc0"));
      return {};
    }));
    auto eth0 = nl::in_netns(peer_fd, []() -> Result<bool> {
      auto n = TRY(nl::Netlink::open());
      return n.link_exists("eth0");
    });
    ASSERT_OK(eth0);
    EXPECT_FALSE(*eth0);
  }
  release_fd.reset();
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

TEST_F(NetlinkTest, RejectsMalformedInput) {
  auto ns = make_netns();
  ASSERT_TRUE(ns);
  ASSERT_OK(nl::in_netns(ns.get(), []() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    TRY(n.create_bridge("klbad0"));
    for (const char* cidr : {"10.0.0.2/33", "10.0.0.2/", "10.0.0.2/024", "10.0.0", "x",
                             "fd00::1/129", "::ffff:1.2.3.4/64", "10.0.0.2/-1", " 10.0.0.2"}) {
      auto added = n.add_address("klbad0", cidr);
      if (added || added.error().code != EINVAL) {
        return kleene::make_error(EIO, std::string("address '") + cidr + "' not refused");
      }
    }
    auto mixed = n.add_route(nl::Route{"10.0.0.0/8", "fd00::1", "", false});
    if (mixed || mixed.error().code != EINVAL) {
      return kleene::make_error(EIO, "mixed families not refused");
    }
    auto nothing = n.add_route(nl::Route{"10.0.0.0/8", "", "", false});
    if (nothing || nothing.error().code != EINVAL) {
      return kleene::make_error(EIO, "route without gateway or device not refused");
    }
    auto missing = n.add_address("klnothere", "10.0.0.2/24");
    if (missing || missing.error().code != ENODEV) {
      return kleene::make_error(EIO, "address on a missing link not ENODEV");
    }
    auto same = n.create_veth("klsame", "klsame");
    if (same || same.error().code != EINVAL) {
      return kleene::make_error(EIO, "veth with equal names not refused");
    }
    TRY(n.delete_link("klbad0"));
    return {};
  }));
}

}  // namespace
