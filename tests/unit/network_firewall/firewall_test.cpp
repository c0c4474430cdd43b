// The rendered nftables ruleset: golden files for a set of stores, each also accepted by
// `nft -c` (check mode: parsed and validated by the kernel, never committed), and hostile input
// that must never reach the script.
#include "network/firewall.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "util/process.hpp"

namespace fw = kleene::network::firewall;

namespace {

const std::filesystem::path kGoldenDir = KLEENE_FIREWALL_GOLDEN_DIR;

// Interface groups as kleened numbers them: 0x6b6c0000 + the network's number.
constexpr std::uint32_t kGroup1 = 0x6b6c0001;
constexpr std::uint32_t kGroup2 = 0x6b6c0002;

fw::Network bridge(std::string name, std::string interface, std::string subnet) {
  fw::Network network;
  network.id = "id-" + name;
  network.name = std::move(name);
  network.interface = std::move(interface);
  network.subnet = std::move(subnet);
  network.nat = true;
  network.nat_if = "eth0";
  return network;
}

fw::Endpoint endpoint(const fw::Network& network, std::string container, std::string interface,
                      std::string ip, std::string ip6 = "") {
  return {std::move(container), network.id, std::move(interface), std::move(ip), std::move(ip6)};
}

fw::PublishedPort port(std::string container, std::string host, std::string target,
                       std::string protocol, std::string ip,
                       std::vector<std::string> interfaces = {}) {
  fw::PublishedPort published;
  published.container_id = std::move(container);
  published.interfaces = std::move(interfaces);
  published.host_port = std::move(host);
  published.container_port = std::move(target);
  published.protocol = std::move(protocol);
  published.ip_address = std::move(ip);
  return published;
}

// One bridge network kleene0 10.13.37.0/24 with two vnet containers.
fw::Snapshot one_bridge() {
  fw::Snapshot snapshot;
  snapshot.networks.push_back(bridge("testnet", "kleene0", "10.13.37.0/24"));
  snapshot.networks[0].gateway = "10.13.37.1";
  snapshot.networks[0].group = kGroup1;
  const auto& net = snapshot.networks[0];
  snapshot.endpoints.push_back(endpoint(net, "c2", "kl-c2-0", "10.13.37.3"));
  snapshot.endpoints.push_back(endpoint(net, "c1", "kl-c1-0", "10.13.37.2"));
  return snapshot;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string find_tool(std::initializer_list<const char*> candidates) {
  for (const char* candidate : candidates) {
    if (access(candidate, X_OK) == 0) return candidate;
  }
  return "";
}

std::string nft_path() {
  return find_tool({"/usr/sbin/nft", "/sbin/nft", "/usr/bin/nft"});
}

// Compares with golden/<name>.nft (KLEENE_UPDATE_GOLDEN=1 rewrites it), then `nft -c -f`.
void expect_golden(const std::string& name, const fw::Snapshot& snapshot) {
  auto rendered = fw::render(snapshot);
  ASSERT_TRUE(rendered) << rendered.error().message;
  const auto golden = kGoldenDir / (name + ".nft");
  if (std::getenv("KLEENE_UPDATE_GOLDEN") != nullptr) std::ofstream(golden) << *rendered;
  EXPECT_EQ(*rendered, read_file(golden)) << "golden file " << golden;

  const auto nft = nft_path();
  if (nft.empty()) GTEST_SKIP() << "nft is not installed (package nftables): check mode skipped";
  const auto file = std::filesystem::path("/dev/shm") /
                    ("kleene-fw-test-" + std::to_string(getpid()) + "-" + name + ".nft");
  std::ofstream(file) << *rendered;
  // In a network namespace of its own: the kernel lists a check-mode batch's tables to other
  // readers while it validates them (seen with `nft list tables` in a loop beside `nft -c`), so
  // in the host's namespace a concurrent integration test's leak check saw `table inet kleene`.
  std::vector<std::string> argv{nft, "-c", "-f", file.string()};
  if (const auto unshare = find_tool({"/usr/bin/unshare", "/bin/unshare"}); !unshare.empty())
    argv.insert(argv.begin(), {unshare, "--net"});
  auto checked = kleene::run_process({.argv = argv});
  std::filesystem::remove(file);
  ASSERT_TRUE(checked) << checked.error().message;
  if (checked->err.find("Operation not permitted") != std::string::npos) {
    GTEST_SKIP() << "nft -c needs CAP_NET_ADMIN: " << checked->err;
  }
  EXPECT_EQ(checked->exit_code, 0) << "nft -c rejected " << name << ":\n" << checked->err;
}

TEST(FirewallGolden, Empty) {
  expect_golden("empty", {});
}

TEST(FirewallGolden, BridgeWithNat) {
  expect_golden("bridge_nat", one_bridge());
}

TEST(FirewallGolden, BridgeWithoutNat) {
  auto snapshot = one_bridge();
  snapshot.networks[0].nat = false;
  expect_golden("bridge_no_nat", snapshot);
}

TEST(FirewallGolden, IccFalse) {
  auto snapshot = one_bridge();
  snapshot.networks[0].icc = false;
  expect_golden("icc_false", snapshot);
}

TEST(FirewallGolden, Internal) {
  auto snapshot = one_bridge();
  snapshot.networks[0].internal = true;
  expect_golden("internal", snapshot);
}

TEST(FirewallGolden, TwoNetworksIsolated) {
  auto snapshot = one_bridge();
  // A loopback network used by ipnet containers: no bridge, one routed veth per container.
  fw::Network routed;
  routed.id = "id-routed";
  routed.name = "routed";
  routed.subnet = "10.20.0.0/16";
  routed.nat = true;
  routed.nat_if = "eth1";
  routed.group = kGroup2;
  snapshot.networks.push_back(routed);
  snapshot.endpoints.push_back(endpoint(routed, "c3", "kl-c3-1", "10.20.0.5"));
  snapshot.endpoints.push_back(endpoint(routed, "c1", "kl-c1-1", "10.20.0.4"));
  expect_golden("isolation", snapshot);
}

TEST(FirewallGolden, PublishedTcp) {
  auto snapshot = one_bridge();
  snapshot.ports.push_back(port("c1", "8080", "80", "tcp", "10.13.37.2"));
  expect_golden("published_tcp", snapshot);
}

TEST(FirewallGolden, PublishedUdp) {
  auto snapshot = one_bridge();
  snapshot.ports.push_back(port("c2", "5353", "53", "udp", "10.13.37.3"));
  expect_golden("published_udp", snapshot);
}

TEST(FirewallGolden, PublishedRange) {
  auto snapshot = one_bridge();
  snapshot.ports.push_back(port("c1", "5000:5003", "4000:*", "tcp", "10.13.37.2"));
  snapshot.ports.push_back(port("c2", "7000:7002", "", "udp", "10.13.37.3"));
  snapshot.ports.push_back(port("c2", "6000:6001", "6000:*", "tcp", "10.13.37.3"));
  expect_golden("published_range", snapshot);
}

TEST(FirewallGolden, PublishedOnInterfaces) {
  auto snapshot = one_bridge();
  snapshot.ports.push_back(port("c1", "443", "8443", "tcp", "10.13.37.2", {"eth1", "eth0"}));
  snapshot.ports.push_back(port("c2", "53", "53", "udp", "10.13.37.3", {"eth0"}));
  expect_golden("published_interfaces", snapshot);
}

TEST(FirewallGolden, Ipv6) {
  auto snapshot = one_bridge();
  auto& net = snapshot.networks[0];
  net.subnet6 = "fd00:13:37::/64";
  net.gateway6 = "fd00:13:37::1";
  snapshot.endpoints[0].ip_address6 = "fd00:13:37::3";
  snapshot.endpoints[1].ip_address6 = "FD00:13:37:0:0:0:0:2";  // written canonically
  auto published = port("c1", "8080", "80", "tcp", "10.13.37.2");
  published.ip_address6 = "fd00:13:37::2";
  snapshot.ports.push_back(published);
  auto range = port("c1", "5000:5001", "4000:*", "udp", "");
  range.ip_address6 = "fd00:13:37::2";
  snapshot.ports.push_back(range);
  expect_golden("ipv6", snapshot);
}

TEST(FirewallGolden, NetworkNamesBecomeChainNames) {
  // Every character Kleene allows in a name, a leading digit and the longest name.
  auto snapshot = one_bridge();
  snapshot.networks[0].name = "1.My_net-x";
  snapshot.networks.push_back(bridge(std::string(64, 'n'), "kleene1", "10.14.0.0/24"));
  snapshot.networks[1].icc = false;
  expect_golden("network_names", snapshot);
}

TEST(FirewallGolden, OutputDoesNotDependOnRowOrder) {
  auto snapshot = one_bridge();
  snapshot.networks.push_back(bridge("other", "kleene1", "10.14.0.0/24"));
  snapshot.endpoints.push_back(endpoint(snapshot.networks[1], "c9", "kl-c9-0", "10.14.0.2"));
  snapshot.ports.push_back(port("c1", "80", "80", "tcp", "10.13.37.2"));
  snapshot.ports.push_back(port("c9", "81", "80", "tcp", "10.14.0.2"));
  auto reversed = snapshot;
  std::ranges::reverse(reversed.networks);
  std::ranges::reverse(reversed.endpoints);
  std::ranges::reverse(reversed.ports);
  EXPECT_EQ(fw::render(snapshot).value(), fw::render(reversed).value());
}

TEST(FirewallRender, SubnetHostBitsAreCleared) {
  auto snapshot = one_bridge();
  snapshot.networks[0].subnet = "10.13.37.1/24";
  const auto text = fw::render(snapshot).value();
  EXPECT_NE(text.find("ip saddr 10.13.37.0/24 masquerade"), std::string::npos) << text;
}

TEST(FirewallRender, OnlyKleeneTablesAreTouched) {
  auto snapshot = one_bridge();
  snapshot.ports.push_back(port("c1", "80", "80", "tcp", "10.13.37.2"));
  std::istringstream lines(fw::render(snapshot).value());
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("table") || line.starts_with("delete") || line.starts_with("flush")) {
      EXPECT_TRUE(line == "table inet kleene" || line == "delete table inet kleene" ||
                  line == "table bridge kleene" || line == "delete table bridge kleene" ||
                  line == "table inet kleene {" || line == "table bridge kleene {")
          << line;
    }
  }
}

// --- hostile input ---------------------------------------------------------------------------

void expect_rejected(const fw::Snapshot& snapshot, std::string_view needle) {
  auto rendered = fw::render(snapshot);
  ASSERT_FALSE(rendered) << "accepted:\n" << *rendered;
  EXPECT_EQ(rendered.error().code, EINVAL);
  EXPECT_NE(rendered.error().message.find(needle), std::string::npos) << rendered.error().message;
}

const std::vector<std::string> kBadInterfaces = {
    "",
    "eth0\"",
    "eth0; drop",
    "a b",
    "x\ny",
    "}",
    "0123456789abcdef",
    ".",
    "..",
    "eth0/1",
    "eth0:1",
    "{ \"eth0\" }",
    std::string("e\0x", 3),
    "é",
};

TEST(FirewallHostile, InterfaceNames) {
  for (const auto& name : kBadInterfaces) {
    SCOPED_TRACE(name);
    EXPECT_FALSE(fw::is_valid_interface_name(name));
    auto network_if = one_bridge();
    network_if.networks[0].interface = name;
    if (!name.empty()) expect_rejected(network_if, "invalid interface name");
    auto nat_if = one_bridge();
    nat_if.networks[0].nat_if = name;
    expect_rejected(nat_if, name.empty() ? "nat without a nat interface" : "invalid interface");
    auto endpoint_if = one_bridge();
    endpoint_if.endpoints[0].interface = name;
    if (!name.empty()) expect_rejected(endpoint_if, "invalid interface name");
    auto published_if = one_bridge();
    published_if.ports.push_back(port("c1", "80", "80", "tcp", "10.13.37.2", {"eth0", name}));
    expect_rejected(published_if, "invalid interface name");
  }
  EXPECT_TRUE(fw::is_valid_interface_name("012345678abcdef"));  // 15 bytes: the maximum
  EXPECT_TRUE(fw::is_valid_interface_name("kl-c1_0.1"));
}

TEST(FirewallHostile, Addresses) {
  for (const std::string& bad :
       std::vector<std::string>{"10.0.0.1; drop", "10.0.0.1\n", "10.0.0", "10.0.0.256", "::1",
                                "localhost", " 10.0.0.1"}) {
    SCOPED_TRACE(bad);
    auto endpoint_ip = one_bridge();
    endpoint_ip.endpoints[0].ip_address = bad;
    expect_rejected(endpoint_ip, "invalid IPv4 address");
    auto gateway = one_bridge();
    gateway.networks[0].gateway = bad;
    expect_rejected(gateway, "invalid IPv4 address");
    auto published = one_bridge();
    published.ports.push_back(port("c1", "80", "80", "tcp", bad));
    expect_rejected(published, "invalid IPv4 address");
  }
  for (const std::string& bad :
       std::vector<std::string>{"fd00::1 drop", "10.0.0.1", "fd00:::1", "[fd00::1]"}) {
    SCOPED_TRACE(bad);
    auto endpoint_ip6 = one_bridge();
    endpoint_ip6.endpoints[0].ip_address6 = bad;
    expect_rejected(endpoint_ip6, "invalid IPv6 address");
  }
}

TEST(FirewallHostile, Subnets) {
  for (const std::string& bad :
       std::vector<std::string>{"10.0.0.0", "10.0.0.0/33", "10.0.0.0/-1", "10.0.0.0/24 drop",
                                "10.0.0.0/", "/24", "10.0.0.0/2x", "fd00::/64"}) {
    SCOPED_TRACE(bad);
    auto snapshot = one_bridge();
    snapshot.networks[0].subnet = bad;
    expect_rejected(snapshot, "invalid IPv4 subnet");
  }
  auto v6 = one_bridge();
  v6.networks[0].subnet6 = "fd00::/129";
  expect_rejected(v6, "invalid IPv6 subnet");
}

TEST(FirewallHostile, NetworkNames) {
  for (const std::string& bad :
       std::vector<std::string>{"", "a b", "x;y", "-net", "n\"", "n}", std::string(65, 'n')}) {
    SCOPED_TRACE(bad);
    auto snapshot = one_bridge();
    snapshot.networks[0].name = bad;
    expect_rejected(snapshot, "invalid network name");
  }
}

TEST(FirewallHostile, Ports) {
  const std::vector<std::pair<std::string, std::string>> bad = {{"80; drop", "80"},
                                                                {"0", "80"},
                                                                {"65536", "80"},
                                                                {"-1", "80"},
                                                                {"", "80"},
                                                                {"5000:4000", ""},
                                                                {"80", "81:*"},
                                                                {"80", "80:90"},
                                                                {"80", "x"},
                                                                {"5000:6000", "4000"},
                                                                {"5000:6000", "65000:*"},
                                                                {"1:2:3", ""},
                                                                {"5000:6000", "4000:*:*"}};
  for (const auto& [host, container] : bad) {
    SCOPED_TRACE(host + " -> " + container);
    EXPECT_FALSE(fw::parse_ports(host, container));
    auto snapshot = one_bridge();
    snapshot.ports.push_back(port("c1", host, container, "tcp", "10.13.37.2"));
    expect_rejected(snapshot, "published port");
  }
  auto ok = fw::parse_ports("5000:6000", "4000:*").value();
  EXPECT_EQ(ok.second.first, 4000);
  EXPECT_EQ(ok.second.last, 5000);
}

TEST(FirewallHostile, Protocol) {
  for (const std::string& bad : std::vector<std::string>{"sctp", "tcp;", "TCP", ""}) {
    auto snapshot = one_bridge();
    snapshot.ports.push_back(port("c1", "80", "80", bad, "10.13.37.2"));
    expect_rejected(snapshot, "protocol must be tcp or udp");
  }
}

TEST(FirewallHostile, GroupOfTwoNetworks) {
  auto snapshot = one_bridge();
  snapshot.networks.push_back(bridge("other", "kleene1", "10.14.0.0/24"));
  snapshot.networks[1].group = kGroup1;
  auto rendered = fw::render(snapshot);
  ASSERT_FALSE(rendered);
  EXPECT_NE(rendered.error().message.find("interface group 1802240001 belongs to networks"),
            std::string::npos)
      << rendered.error().message;
}

TEST(FirewallRender, EndpointsAndTheirLinksDoNotChangeTheRuleset) {
  // Container starts and stops change endpoints' links, never the ruleset (no reload).
  auto snapshot = one_bridge();
  auto without_links = snapshot;
  for (auto& e : without_links.endpoints)
    e.interface.clear();
  EXPECT_EQ(fw::render(snapshot).value(), fw::render(without_links).value());
}

TEST(FirewallHostile, InconsistentStore) {
  auto shared = one_bridge();
  shared.networks.push_back(bridge("other", "kleene0", "10.14.0.0/24"));
  expect_rejected(shared, "interface kleene0 belongs to networks");
  auto orphan = one_bridge();
  orphan.endpoints[0].network_id = "nope";
  expect_rejected(orphan, "unknown network");
  auto twice = one_bridge();
  twice.networks.push_back(twice.networks[0]);
  twice.networks[1].interface = "kleene1";
  expect_rejected(twice, "listed twice");
}

}  // namespace
