// The ipnet and vnet drivers as kleened runs them: the built net-loopback.so and net-vnet.so
// loaded through the plugin registry, join and leave called from a thread inside a network
// namespace that stands for kleened's ("the host"), containers as further namespaces. Nothing
// runs in the machine's own namespace; every test checks that no kl* link is left in its host
// namespace and that the machine's links did not change.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "net-common/request.hpp"
#include "network/netlink.hpp"
#include "plugin/registry.hpp"
#include "support/netns_tcp.hpp"
#include "util/unique_fd.hpp"

namespace nl = kleene::network::netlink;
using kleene::Result;
using kleene::UniqueFd;
using nlohmann::json;

namespace {

#define ASSERT_OK(expr)                                     \
  do {                                                      \
    auto&& r_ = (expr);                                     \
    ASSERT_TRUE(r_) << #expr << ": " << r_.error().message; \
  } while (0)

std::set<std::string> machine_links() {
  std::set<std::string> links;
  for (const auto& entry : std::filesystem::directory_iterator("/sys/class/net")) {
    links.insert(entry.path().filename().string());
  }
  return links;
}

using kleene::test::netns_fds;

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Links of a namespace, from /proc/thread-self/net/dev of a thread inside it.
std::set<std::string> links_in(int netns) {
  auto links = nl::in_netns(netns, []() -> Result<std::set<std::string>> {
    std::set<std::string> names;
    std::istringstream lines(read_file("/proc/thread-self/net/dev"));
    std::string line;
    while (std::getline(lines, line)) {
      const auto colon = line.find(':');
      if (colon == std::string::npos || line.find('|') != std::string::npos) continue;
      const auto start = line.find_first_not_of(' ');
      names.insert(line.substr(start, colon - start));
    }
    return names;
  });
  return links ? *links : std::set<std::string>{"<error: " + links.error().message + ">"};
}

std::string hex_to_ipv6(const std::string& hex) {
  in6_addr a{};
  for (std::size_t i = 0; i < 16; ++i) {
    a.s6_addr[i] = static_cast<unsigned char>(std::stoul(hex.substr(i * 2, 2), nullptr, 16));
  }
  char out[INET6_ADDRSTRLEN] = {};
  inet_ntop(AF_INET6, &a, out, sizeof out);
  return out;
}

// Main-table IPv4 routes and all IPv6 routes of a namespace as "10.0.0.2/32 dev x",
// "default via 169.254.1.1 dev eth0", "inet6 default via fe80::1 dev eth0".
std::vector<std::string> routes_in(int netns) {
  auto routes = nl::in_netns(netns, []() -> Result<std::vector<std::string>> {
    std::vector<std::string> out;
    std::istringstream v4(read_file("/proc/thread-self/net/route"));
    std::string line;
    std::getline(v4, line);  // header
    while (std::getline(v4, line)) {
      std::istringstream f(line);
      std::string dev, dest, gw, flags, refcnt, use, metric, mask;
      f >> dev >> dest >> gw >> flags >> refcnt >> use >> metric >> mask;
      const auto to_text = [](const std::string& hex) {
        in_addr a{static_cast<in_addr_t>(std::stoul(hex, nullptr, 16))};
        return std::string(inet_ntoa(a));
      };
      const int prefix = std::popcount(static_cast<uint32_t>(std::stoul(mask, nullptr, 16)));
      std::string route = prefix == 0 ? "default" : to_text(dest) + "/" + std::to_string(prefix);
      if (std::stoul(gw, nullptr, 16) != 0) route += " via " + to_text(gw);
      out.push_back(route + " dev " + dev);
    }
    std::istringstream v6(read_file("/proc/thread-self/net/ipv6_route"));
    while (std::getline(v6, line)) {
      std::istringstream f(line);
      std::string dest, dlen, src, slen, hop, metric, refcnt, use, flags, dev;
      f >> dest >> dlen >> src >> slen >> hop >> metric >> refcnt >> use >> flags >> dev;
      if (std::stoul(flags, nullptr, 16) & 0x0200) continue;  // RTF_REJECT: unreachable
      const auto prefix = std::stoul(dlen, nullptr, 16);
      std::string route =
          "inet6 " +
          (prefix == 0 ? std::string("default") : hex_to_ipv6(dest) + "/" + std::to_string(prefix));
      if (hop != std::string(32, '0')) route += " via " + hex_to_ipv6(hop);
      out.push_back(route + " dev " + dev);
    }
    return out;
  });
  return routes ? *routes : std::vector<std::string>{"<error: " + routes.error().message + ">"};
}

bool has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

int count_prefixed(const std::vector<std::string>& list, const std::string& prefix) {
  return static_cast<int>(std::count_if(
      list.begin(), list.end(), [&](const std::string& s) { return s.starts_with(prefix); }));
}

std::vector<std::string> addresses_in(int netns, const std::string& link) {
  auto addresses = nl::in_netns(netns, [&]() -> Result<std::vector<std::string>> {
    auto n = TRY(nl::Netlink::open());
    std::vector<std::string> out;
    for (const auto& a : TRY(n.addresses(link)))
      out.push_back(a.str());
    return out;
  });
  return addresses ? *addresses : std::vector<std::string>{};
}

Result<void> write_sysctl(int netns, const std::string& path, const std::string& value) {
  return nl::in_netns(netns, [&]() -> Result<void> {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd) return kleene::errno_error("open " + path);
    if (::write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
      return kleene::errno_error("write " + path);
    }
    return {};
  });
}

using kleene::test::expect_tcp;

json loopback_network() {
  return json{{"id", "n1"},
              {"name", "kltest"},
              {"type", "loopback"},
              {"interface", ""},
              {"subnet", "10.13.0.0/24"},
              {"subnet6", "fd00:13::/64"},
              {"gateway", ""},
              {"gateway6", ""}};
}

json bridge_network(const std::string& bridge = "klbr0") {
  return json{{"id", "n2"},
              {"name", "klbridged"},
              {"type", "bridge"},
              {"interface", bridge},
              {"subnet", "10.20.0.0/24"},
              {"subnet6", "fd00:20::/64"},
              {"gateway", "10.20.0.1"},
              {"gateway6", "fd00:20::1"}};
}

class DriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    machine_links_ = machine_links();
    netns_fds_ = netns_fds();
    ASSERT_OK(registry_.load_file(KLEENE_IPNET_PLUGIN));
    ASSERT_OK(registry_.load_file(KLEENE_VNET_PLUGIN));
    auto host = nl::create_netns();
    ASSERT_OK(host);
    host_ = std::move(*host);
    ASSERT_OK(nl::in_netns(host_.get(), []() -> Result<void> {
      auto n = TRY(nl::Netlink::open());
      return n.set_up("lo");
    }));
  }

  void TearDown() override {
    for (const auto& link : links_in(host_.get())) {
      EXPECT_FALSE(link.starts_with("kl")) << link << " left in the test host namespace";
    }
    EXPECT_EQ(machine_links(), machine_links_) << "the machine's links changed";
    // Only the test host's own reference is open: no container namespace stays alive.
    EXPECT_EQ(netns_fds(), netns_fds_ + 1) << "a network namespace reference was left open";
  }

  UniqueFd container() {
    auto fd = nl::create_netns();
    EXPECT_TRUE(fd) << fd.error().message;
    return fd ? std::move(*fd) : UniqueFd();
  }
  // The host end a driver names for an endpoint in the namespace `netns` (see request.hpp).
  static std::string host_if(char letter, const std::string& endpoint, const UniqueFd& netns) {
    struct stat st {};
    EXPECT_EQ(::fstat(netns.get(), &st), 0);
    return kleene::netdrv::host_link_name(letter, endpoint, st.st_ino);
  }
  static std::string path(const UniqueFd& netns) {
    return "/proc/" + std::to_string(::getpid()) + "/fd/" + std::to_string(netns.get());
  }

  // A driver operation, called as kleened calls it: from a thread in the host namespace.
  Result<json> call(const std::string& driver, const std::string& op, const json& request) {
    auto* plugin = registry_.find(driver, kleene::plugin::Kind::network);
    if (plugin == nullptr) return kleene::make_error(ENOENT, "no plugin " + driver);
    return nl::in_netns(host_.get(), [&] { return plugin->call(op, request); });
  }

  static json join_request(const UniqueFd& netns, const std::string& endpoint,
                           const std::string& ip, const std::string& ip6, json network,
                           bool default_route = true) {
    return json{{"container_id", "4b1c0e2d9a7f"},
                {"netns", path(netns)},
                {"endpoint", {{"id", endpoint}, {"ip_address", ip}, {"ip_address6", ip6}}},
                {"network", std::move(network)},
                {"default_route", default_route}};
  }

  static json leave_request(const std::string& netns, const std::string& endpoint,
                            const std::string& interface, json network) {
    return json{
        {"container_id", "4b1c0e2d9a7f"},
        {"netns", netns},
        {"endpoint",
         {{"id", endpoint}, {"ip_address", ""}, {"ip_address6", ""}, {"interface", interface}}},
        {"network", std::move(network)}};
  }

  void make_bridge(const std::string& name = "klbr0") {
    ASSERT_OK(nl::in_netns(host_.get(), [&]() -> Result<void> {
      auto n = TRY(nl::Netlink::open());
      TRY(n.create_bridge(name));
      TRY(n.add_address(name, "10.20.0.1/24"));
      TRY(n.add_address(name, "fd00:20::1/64"));
      return {};
    }));
  }
  void delete_link(const std::string& name) {
    ASSERT_OK(nl::in_netns(host_.get(), [&]() -> Result<void> {
      auto n = TRY(nl::Netlink::open());
      return n.delete_link(name);
    }));
  }

  kleene::plugin::Registry registry_;
  UniqueFd host_;
  std::set<std::string> machine_links_;
  int netns_fds_ = 0;
};

const std::string kEp1 = "aaaaaaaaaaaa0001";
const std::string kEp2 = "bbbbbbbbbbbb0002";
const std::set<std::string> kOnlyLo = {"lo"};

// ---- ipnet ----

TEST_F(DriverTest, IpnetJoinConfiguresBothEndsAndLeaveRemovesThem) {
  auto c = container();
  const std::string hi = host_if('i', kEp1, c);
  auto joined =
      call("ipnet", "join", join_request(c, kEp1, "10.13.0.2", "fd00:13::2", loopback_network()));
  ASSERT_OK(joined);
  EXPECT_EQ(*joined, (json{{"interface", hi}, {"container_interface", "eth0"}}));

  EXPECT_EQ(links_in(c.get()), (std::set<std::string>{"lo", "eth0"}));
  const auto eth0 = addresses_in(c.get(), "eth0");
  EXPECT_TRUE(has(eth0, "10.13.0.2/32"));
  EXPECT_TRUE(has(eth0, "fd00:13::2/128"));
  const auto croutes = routes_in(c.get());
  EXPECT_TRUE(has(croutes, "default via 169.254.1.1 dev eth0")) << testing::PrintToString(croutes);
  EXPECT_TRUE(has(croutes, "inet6 default via fe80::1 dev eth0"))
      << testing::PrintToString(croutes);

  const auto host = addresses_in(host_.get(), hi);
  EXPECT_TRUE(has(host, "169.254.1.1/32"));
  EXPECT_TRUE(has(host, "fe80::1/64"));
  auto hroutes = routes_in(host_.get());
  EXPECT_TRUE(has(hroutes, "10.13.0.2/32 dev " + hi)) << testing::PrintToString(hroutes);
  EXPECT_TRUE(has(hroutes, "inet6 fd00:13::2/128 dev " + hi));

  ASSERT_OK(call("ipnet", "leave", leave_request(path(c), kEp1, hi, loopback_network())));
  EXPECT_EQ(links_in(c.get()), kOnlyLo);
  EXPECT_FALSE(links_in(host_.get()).contains(hi));
  hroutes = routes_in(host_.get());
  EXPECT_FALSE(has(hroutes, "10.13.0.2/32 dev " + hi));
  EXPECT_EQ(count_prefixed(hroutes, "inet6 fd00:13::2/128"), 0);
  // A second leave finds nothing to do and succeeds.
  auto again = call("ipnet", "leave", leave_request(path(c), kEp1, "", loopback_network()));
  ASSERT_OK(again);
  EXPECT_EQ(*again, json::object());
}

TEST_F(DriverTest, IpnetContainersReachEachOtherThroughTheHost) {
  ASSERT_OK(write_sysctl(host_.get(), "/proc/sys/net/ipv4/ip_forward", "1"));
  ASSERT_OK(write_sysctl(host_.get(), "/proc/sys/net/ipv6/conf/all/forwarding", "1"));
  auto a = container();
  auto b = container();
  ASSERT_OK(
      call("ipnet", "join", join_request(a, kEp1, "10.13.0.2", "fd00:13::2", loopback_network())));
  ASSERT_OK(
      call("ipnet", "join", join_request(b, kEp2, "10.13.0.3", "fd00:13::3", loopback_network())));
  expect_tcp(a.get(), b.get(), AF_INET, "10.13.0.2", 7001);
  expect_tcp(b.get(), a.get(), AF_INET, "10.13.0.3", 7002);
  expect_tcp(a.get(), b.get(), AF_INET6, "fd00:13::2", 7003);
  ASSERT_OK(call("ipnet", "leave", leave_request(path(a), kEp1, "", loopback_network())));
  ASSERT_OK(call("ipnet", "leave", leave_request(path(b), kEp2, "", loopback_network())));
}

TEST_F(DriverTest, IpnetSecondNetworkGetsEth1AndNoSecondDefaultRoute) {
  auto c = container();
  const std::string hi = host_if('i', kEp2, c);
  ASSERT_OK(call("ipnet", "join", join_request(c, kEp1, "10.13.0.2", "", loopback_network())));
  auto other = loopback_network();
  other["subnet"] = "10.14.0.0/24";
  other["subnet6"] = "fd00:14::/64";
  auto joined = call("ipnet", "join",
                     join_request(c, kEp2, "10.14.0.2", "fd00:14::2", other,
                                  /*default_route=*/false));
  ASSERT_OK(joined);
  EXPECT_EQ((*joined)["container_interface"], "eth1");
  EXPECT_EQ((*joined)["interface"], hi);
  const auto routes = routes_in(c.get());
  EXPECT_EQ(count_prefixed(routes, "default "), 1) << testing::PrintToString(routes);
  EXPECT_EQ(count_prefixed(routes, "inet6 default "), 0) << testing::PrintToString(routes);
  EXPECT_TRUE(has(routes, "10.14.0.0/24 via 169.254.1.1 dev eth1"));
  EXPECT_TRUE(has(routes, "inet6 fd00:14::/64 via fe80::1 dev eth1"));
  // The host side of an IPv6 endpoint ignores router advertisements from the container.
  auto accept_ra = nl::in_netns(host_.get(), [&hi]() -> Result<std::string> {
    return read_file("/proc/sys/net/ipv6/conf/" + hi + "/accept_ra");
  });
  ASSERT_OK(accept_ra);
  EXPECT_EQ(*accept_ra, "0\n");
  ASSERT_OK(call("ipnet", "leave", leave_request(path(c), kEp2, "", other)));
  EXPECT_EQ(links_in(c.get()), (std::set<std::string>{"lo", "eth0"}));
  ASSERT_OK(call("ipnet", "leave", leave_request(path(c), kEp1, "", loopback_network())));
  EXPECT_EQ(links_in(c.get()), kOnlyLo);
}

TEST_F(DriverTest, LeaveOfAGoneLinkSucceeds) {
  for (const char* driver : {"ipnet", "vnet"}) {
    SCOPED_TRACE(driver);
    auto result = call(driver, "leave", leave_request("", kEp1, "", loopback_network()));
    ASSERT_OK(result);
    EXPECT_EQ(*result, json::object());
  }
  // Cleanup needs no network.
  auto bare = leave_request("", kEp1, "", json::object());
  bare.erase("network");
  ASSERT_OK(call("vnet", "leave", bare));
  // The container ended on its own: its namespace (and with it both veth ends) is gone or going.
  std::string gone;
  {
    auto c = container();
    gone = host_if('i', kEp1, c);
    ASSERT_OK(call("ipnet", "join", join_request(c, kEp1, "10.13.0.2", "", loopback_network())));
  }
  ASSERT_OK(call("ipnet", "leave", leave_request("", kEp1, gone, loopback_network())));
}

TEST_F(DriverTest, BadRequestsAreInvalidAndLeaveNothing) {
  auto c = container();
  make_bridge();
  for (const auto& [driver, network] :
       {std::pair{"ipnet", loopback_network()}, std::pair{"vnet", bridge_network()}}) {
    std::vector<json> bad;
    const auto good = join_request(c, kEp1, "10.20.0.2", "fd00:20::2", network);
    for (const char* key : {"container_id", "netns", "endpoint", "network"}) {
      auto r = good;
      r.erase(key);
      bad.push_back(r);
    }
    auto edit = [&](const char* pointer, json value) {
      auto r = good;
      r[json::json_pointer(pointer)] = std::move(value);
      bad.push_back(r);
    };
    edit("/endpoint/id", "eth0;rm");
    edit("/endpoint/ip_address", "10.20.0.300");
    edit("/endpoint/ip_address", "fd00:20::2");
    edit("/endpoint/ip_address6", "10.20.0.2");
    edit("/network/interface", "eth0;rm");
    edit("/network/type", "overlay");
    edit("/netns", "/proc/self/ns/uts");  // not a network namespace
    edit("/netns", "relative/path");
    edit("/netns", path(host_));  // the host's own namespace
    edit("/default_route", "yes");
    for (const auto& request : bad) {
      SCOPED_TRACE(std::string(driver) + " " + request.dump());
      auto result = call(driver, "join", request);
      ASSERT_FALSE(result);
      EXPECT_EQ(result.error().code, EINVAL) << result.error().message;
    }
  }
  for (const char* name : {"eth0;rm", "lo", "kleene0", "klbr0"}) {
    for (const char* driver : {"ipnet", "vnet"}) {
      auto result = call(driver, "leave", leave_request(path(c), kEp1, name, loopback_network()));
      ASSERT_FALSE(result) << driver << " leave " << name;
      EXPECT_EQ(result.error().code, EINVAL) << result.error().message;
    }
  }
  EXPECT_EQ(links_in(c.get()), kOnlyLo);
  delete_link("klbr0");
}

TEST_F(DriverTest, IpnetFailedJoinLeavesNothing) {
  auto c = container();
  const std::string hi1 = host_if('i', kEp1, c);
  const std::string hi2 = host_if('i', kEp2, c);
  ASSERT_OK(call("ipnet", "join", join_request(c, kEp1, "10.13.0.2", "", loopback_network())));
  // The same endpoint again: its host side exists, and stays.
  auto twice = call("ipnet", "join", join_request(c, kEp1, "10.13.0.2", "", loopback_network()));
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, EEXIST) << twice.error().message;
  // Another endpoint with the same address: the host route exists, so the join fails after the
  // veth pair was made and configured in part.
  auto clash = call("ipnet", "join", join_request(c, kEp2, "10.13.0.2", "", loopback_network()));
  ASSERT_FALSE(clash);
  EXPECT_EQ(clash.error().code, EIO) << clash.error().message;
  EXPECT_NE(clash.error().message.find(hi2), std::string::npos) << clash.error().message;
  EXPECT_EQ(links_in(c.get()), (std::set<std::string>{"lo", "eth0"}));
  EXPECT_FALSE(links_in(host_.get()).contains(hi2));
  EXPECT_TRUE(links_in(host_.get()).contains(hi1));
  ASSERT_OK(call("ipnet", "leave", leave_request(path(c), kEp1, "", loopback_network())));

  // A failure inside the container: it has a default route already.
  ASSERT_OK(nl::in_netns(c.get(), []() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    TRY(n.create_veth("klx0", "klx1"));
    TRY(n.set_up("klx0"));
    return n.add_default_route("", "klx0");
  }));
  auto in_container =
      call("ipnet", "join", join_request(c, kEp2, "10.13.0.3", "", loopback_network()));
  ASSERT_FALSE(in_container);
  EXPECT_EQ(in_container.error().code, EIO) << in_container.error().message;
  EXPECT_EQ(links_in(c.get()), (std::set<std::string>{"lo", "klx0", "klx1"}));
}

// ---- vnet ----

TEST_F(DriverTest, VnetJoinAttachesToTheBridgeAndContainersTalk) {
  make_bridge();
  auto a = container();
  const std::string hv = host_if('v', kEp1, a);
  auto b = container();
  auto joined =
      call("vnet", "join", join_request(a, kEp1, "10.20.0.2", "fd00:20::2", bridge_network()));
  ASSERT_OK(joined);
  EXPECT_EQ(*joined, (json{{"interface", hv}, {"container_interface", "eth0"}}));
  ASSERT_OK(
      call("vnet", "join", join_request(b, kEp2, "10.20.0.3", "fd00:20::3", bridge_network())));
  const auto eth0 = addresses_in(a.get(), "eth0");
  EXPECT_TRUE(has(eth0, "10.20.0.2/24"));
  EXPECT_TRUE(has(eth0, "fd00:20::2/64"));
  const auto routes = routes_in(a.get());
  EXPECT_TRUE(has(routes, "default via 10.20.0.1 dev eth0")) << testing::PrintToString(routes);
  EXPECT_TRUE(has(routes, "inet6 default via fd00:20::1 dev eth0"));
  // The host end is a bridge port without addresses of its own.
  EXPECT_EQ(count_prefixed(addresses_in(host_.get(), hv), "10."), 0);

  expect_tcp(a.get(), b.get(), AF_INET, "10.20.0.2", 7101);
  expect_tcp(b.get(), a.get(), AF_INET6, "fd00:20::3", 7102);
  expect_tcp(host_.get(), a.get(), AF_INET, "10.20.0.1", 7103);  // the gateway on the bridge

  ASSERT_OK(call("vnet", "leave", leave_request(path(a), kEp1, hv, bridge_network())));
  ASSERT_OK(call("vnet", "leave", leave_request(path(b), kEp2, "", bridge_network())));
  EXPECT_EQ(links_in(a.get()), kOnlyLo);
  EXPECT_EQ(links_in(b.get()), kOnlyLo);
  delete_link("klbr0");
}

TEST_F(DriverTest, VnetSecondNetworkGetsEth1AndNoSecondDefaultRoute) {
  make_bridge();
  ASSERT_OK(nl::in_netns(host_.get(), []() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    TRY(n.create_bridge("klbr1"));
    return n.add_address("klbr1", "10.21.0.1/24");
  }));
  auto second = bridge_network("klbr1");
  second["subnet"] = "10.21.0.0/24";
  second["subnet6"] = "";
  second["gateway"] = "10.21.0.1";
  second["gateway6"] = "";
  auto c = container();
  ASSERT_OK(call("vnet", "join", join_request(c, kEp1, "10.20.0.2", "", bridge_network())));
  auto joined = call("vnet", "join", join_request(c, kEp2, "10.21.0.2", "", second, false));
  ASSERT_OK(joined);
  EXPECT_EQ((*joined)["container_interface"], "eth1");
  const auto routes = routes_in(c.get());
  EXPECT_EQ(count_prefixed(routes, "default "), 1) << testing::PrintToString(routes);
  EXPECT_TRUE(has(routes, "default via 10.20.0.1 dev eth0"));
  EXPECT_TRUE(has(addresses_in(c.get(), "eth1"), "10.21.0.2/24"));
  expect_tcp(host_.get(), c.get(), AF_INET, "10.21.0.1", 7104);
  ASSERT_OK(call("vnet", "leave", leave_request(path(c), kEp1, "", bridge_network())));
  ASSERT_OK(call("vnet", "leave", leave_request(path(c), kEp2, "", second)));
  EXPECT_EQ(links_in(c.get()), kOnlyLo);
  delete_link("klbr0");
  delete_link("klbr1");
}

TEST_F(DriverTest, VnetFailedJoinLeavesNothing) {
  auto c = container();
  // No such bridge: refused before anything is made.
  auto missing = call("vnet", "join", join_request(c, kEp1, "10.20.0.2", "", bridge_network()));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT) << missing.error().message;
  // A link that is not a bridge: fails when the host end is attached.
  ASSERT_OK(nl::in_netns(host_.get(), []() -> Result<void> {
    auto n = TRY(nl::Netlink::open());
    return n.create_veth("klnotbr0", "klnotbr1");
  }));
  auto not_bridge =
      call("vnet", "join", join_request(c, kEp1, "10.20.0.2", "", bridge_network("klnotbr0")));
  ASSERT_FALSE(not_bridge);
  EXPECT_EQ(not_bridge.error().code, EIO) << not_bridge.error().message;
  EXPECT_EQ(links_in(c.get()), kOnlyLo);
  delete_link("klnotbr0");
  // A gateway the container cannot reach: fails inside the container, after eth0 was set up.
  make_bridge();
  auto request = join_request(c, kEp1, "10.20.0.2", "", bridge_network());
  request["network"]["gateway"] = "10.99.0.1";
  auto unreachable = call("vnet", "join", request);
  ASSERT_FALSE(unreachable);
  EXPECT_EQ(unreachable.error().code, EIO) << unreachable.error().message;
  EXPECT_EQ(links_in(c.get()), kOnlyLo);
  // An address outside the network's subnet is a bad request.
  auto outside = call("vnet", "join", join_request(c, kEp1, "10.99.0.2", "", bridge_network()));
  ASSERT_FALSE(outside);
  EXPECT_EQ(outside.error().code, EINVAL);
  // vnet attaches to bridge networks only.
  auto loopback = call("vnet", "join", join_request(c, kEp1, "10.13.0.2", "", loopback_network()));
  ASSERT_FALSE(loopback);
  EXPECT_EQ(loopback.error().code, ENOTSUP);
  EXPECT_EQ(links_in(c.get()), kOnlyLo);
  delete_link("klbr0");
}

}  // namespace
