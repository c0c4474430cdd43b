#include "network/ipam.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace kleene::network {
namespace {

using namespace std::string_literals;

Subnet subnet4(std::string_view text) {
  auto s = parse_subnet(text, Family::inet);
  EXPECT_TRUE(s) << s.error().message;
  return *s;
}

Subnet subnet6(std::string_view text) {
  auto s = parse_subnet(text, Family::inet6);
  EXPECT_TRUE(s) << s.error().message;
  return *s;
}

std::string subnet_error(std::string_view text, Family family) {
  auto s = parse_subnet(text, family);
  EXPECT_FALSE(s) << text << " parsed as " << s->str();
  if (s) return "";
  EXPECT_EQ(s.error().code, EINVAL);
  return s.error().message;
}

// --- parsing ---------------------------------------------------------------------------------

TEST(IpamParse, ValidSubnets) {
  EXPECT_EQ(subnet4("10.13.37.0/24").str(), "10.13.37.0/24");
  EXPECT_EQ(subnet4("172.19.0.0/30").prefix, 30);
  EXPECT_EQ(subnet4("10.0.0.7/32").str(), "10.0.0.7/32");
  EXPECT_EQ(subnet4("0.0.0.0/1").str(), "0.0.0.0/1");
  EXPECT_EQ(subnet6("fd00::/64").str(), "fd00::/64");
  EXPECT_EQ(subnet6("FD00:0000:0:0::/64").str(), "fd00::/64");  // canonical form
  EXPECT_EQ(subnet6("2001:db8::1/128").str(), "2001:db8::1/128");
}

TEST(IpamParse, KleeneMessages) {
  EXPECT_EQ(subnet_error("10.13.37.0/33", Family::inet), "invalid subnet: Invalid mask 33");
  EXPECT_EQ(subnet_error("fd00::/129", Family::inet6), "invalid subnet6: Invalid mask 129");
  EXPECT_EQ(subnet_error("fd00::/64", Family::inet), "invalid subnet: wrong IP protocol");
  EXPECT_EQ(subnet_error("10.0.0.0/8", Family::inet6), "invalid subnet6: wrong IP protocol");
}

TEST(IpamParse, HostBitsMustBeZero) {
  EXPECT_EQ(subnet_error("10.13.37.1/24", Family::inet),
            "invalid subnet: host bits are set in 10.13.37.1/24 (did you mean 10.13.37.0/24?)");
  EXPECT_EQ(subnet_error("fd00::1/64", Family::inet6),
            "invalid subnet6: host bits are set in fd00::1/64 (did you mean fd00::/64?)");
  EXPECT_NE(subnet_error("10.0.0.1/31", Family::inet), "");
}

TEST(IpamParse, HostileSubnets) {
  for (const auto* text : {"",
                           "/",
                           "/24",
                           "10.13.37.0",
                           "10.13.37.0/",
                           "10.13.37.0/-1",
                           "10.13.37.0/+24",
                           "10.13.37.0/024",
                           "10.13.37.0/24 ",
                           " 10.13.37.0/24",
                           "10.13.37.0 /24",
                           "10.13.37.0/ 24",
                           "10.13.37.0/24/24",
                           "10.13.37.0/4294967320",
                           "10.13.37.0/1e1",
                           "10.13.37.0/0x18",
                           "010.13.37.0/24",
                           "10.013.37.0/24",
                           "10.13.37/24",
                           "10.13/16",
                           "10/8",
                           "256.0.0.0/8",
                           "10.13.37.0.0/24",
                           "1.2.3.4.5/32",
                           "0x0a.0.0.0/8",
                           "garbage",
                           "10.13.37.0/24\n",
                           "10.13.37.0/0",
                           "0.0.0.0/0",
                           "::/0"}) {
    const Family family =
        std::string_view(text).find(':') == std::string_view::npos ? Family::inet : Family::inet6;
    EXPECT_FALSE(parse_subnet(text, family)) << "accepted: " << text;
  }
  // An embedded NUL must not cut the text short for inet_pton.
  EXPECT_FALSE(parse_subnet("10.13.37.0\0junk/24"s, Family::inet));
  EXPECT_FALSE(parse_subnet("10.13.37.0/24\0"s, Family::inet));
}

TEST(IpamParse, HostileSubnets6) {
  for (const auto* text :
       {"fe80::%eth0/64", "fe80::1%1/128", "::ffff:10.0.0.0/120", "::ffff:0:0/96", "fd00:::/64",
        "fd00::/64 ", "[fd00::]/64", "fd00::g/64", "fd00:0:0:0:0:0:0:0:0/64", "fd00::/01"}) {
    EXPECT_FALSE(parse_subnet(text, Family::inet6)) << "accepted: " << text;
  }
  EXPECT_EQ(subnet_error("::ffff:10.0.0.0/120", Family::inet6),
            "invalid subnet6: IPv4-mapped IPv6 addresses are not allowed: ::ffff:10.0.0.0");
}

TEST(IpamParse, MessagesEchoOnlyPrintableBoundedText) {
  const auto message = subnet_error("\x1b[31mred\x07/24", Family::inet);
  EXPECT_EQ(message.find('\x1b'), std::string::npos);
  EXPECT_EQ(message.find('\x07'), std::string::npos);
  const auto long_message = subnet_error(std::string(10000, 'a') + "/24", Family::inet);
  EXPECT_LT(long_message.size(), 200u);
}

TEST(IpamParse, Addresses) {
  EXPECT_EQ(parse_address("10.0.0.1", Family::inet)->str(), "10.0.0.1");
  EXPECT_EQ(parse_address("FD00:0::0001", Family::inet6)->str(), "fd00::1");
  for (const auto* text : {"", " 10.0.0.1", "10.0.0.1 ", "010.0.0.1", "10.0.0", "10.0.0.256",
                           "10.0.0.1/32", "localhost", "::1"}) {
    EXPECT_FALSE(parse_address(text, Family::inet)) << text;
  }
  for (const auto* text : {"", "fe80::1%lo", "::ffff:10.0.0.1", "10.0.0.1", "fd00::/64"}) {
    EXPECT_FALSE(parse_address(text, Family::inet6)) << text;
  }
  // IPv4-compatible and NAT64 forms are ordinary IPv6 addresses.
  EXPECT_TRUE(parse_address("64:ff9b::10.0.0.1", Family::inet6));
}

// --- usable range and gateways ---------------------------------------------------------------

TEST(IpamRange, UsableAddresses) {
  const auto s24 = subnet4("10.13.37.0/24");
  EXPECT_EQ(s24.first_usable().str(), "10.13.37.1");
  EXPECT_EQ(s24.last_usable().str(), "10.13.37.254");
  EXPECT_EQ(s24.last().str(), "10.13.37.255");
  const auto s31 = subnet4("10.0.0.0/31");
  EXPECT_EQ(s31.first_usable().str(), "10.0.0.0");
  EXPECT_EQ(s31.last_usable().str(), "10.0.0.1");
  const auto s32 = subnet4("10.0.0.7/32");
  EXPECT_EQ(s32.first_usable().str(), "10.0.0.7");
  EXPECT_EQ(s32.last_usable().str(), "10.0.0.7");
  const auto s64 = subnet6("fd00::/64");
  EXPECT_EQ(s64.first_usable().str(), "fd00::1");
  EXPECT_EQ(s64.last_usable().str(), "fd00::ffff:ffff:ffff:ffff");  // no broadcast in IPv6
  const auto s127 = subnet6("fd00::/127");
  EXPECT_EQ(s127.first_usable().str(), "fd00::");
  EXPECT_EQ(s127.last_usable().str(), "fd00::1");
}

TEST(IpamGateway, AutoExplicitAndInvalid) {
  const auto s = subnet4("10.13.37.0/24");
  EXPECT_EQ(*resolve_gateway(s, ""), "");
  EXPECT_EQ(*resolve_gateway(s, "<auto>"), "10.13.37.1");
  EXPECT_EQ(*resolve_gateway(s, "10.13.37.254"), "10.13.37.254");
  EXPECT_EQ(*resolve_gateway(subnet6("fd00::/64"), "<auto>"), "fd00::1");
  EXPECT_EQ(resolve_gateway(s, "10.13.38.1").error().message,
            "invalid gateway: 10.13.38.1 is outside the subnet 10.13.37.0/24");
  EXPECT_EQ(resolve_gateway(s, "10.13.37.0").error().message,
            "invalid gateway: 10.13.37.0 is the network address of 10.13.37.0/24");
  EXPECT_EQ(resolve_gateway(s, "10.13.37.255").error().message,
            "invalid gateway: 10.13.37.255 is the broadcast address of 10.13.37.0/24");
  EXPECT_EQ(resolve_gateway(s, "fd00::1").error().message, "invalid gateway: wrong IP protocol");
  EXPECT_EQ(resolve_gateway(subnet6("fd00::/64"), "fd01::1").error().message,
            "invalid gateway6: fd01::1 is outside the subnet fd00::/64");
  EXPECT_FALSE(resolve_gateway(s, "auto"));
  EXPECT_FALSE(resolve_gateway(s, "10.13.37.1 "));
}

// --- allocation ------------------------------------------------------------------------------

TEST(IpamAllocate, LowestFreeSkippingGatewayAndUsed) {
  const auto s = subnet4("10.13.37.0/24");
  EXPECT_EQ(*allocate(s, "", {}), "10.13.37.1");
  EXPECT_EQ(*allocate(s, "10.13.37.1", {}), "10.13.37.2");
  EXPECT_EQ(*allocate(s, "10.13.37.1", {"10.13.37.2", "10.13.37.3"}), "10.13.37.4");
  EXPECT_EQ(*allocate(s, "10.13.37.1", {"10.13.37.3"}), "10.13.37.2");  // fills holes
  EXPECT_EQ(*allocate(s, "10.13.37.2", {}), "10.13.37.1");
  // Used entries of another family, outside the subnet or garbage do not matter.
  EXPECT_EQ(*allocate(s, "10.13.37.1", {"fd00::2", "10.13.38.2", "junk", ""}), "10.13.37.2");
}

TEST(IpamAllocate, SlashThirtyHasTwoAddresses) {
  const auto s = subnet4("172.19.0.0/30");
  const auto gateway = *resolve_gateway(s, "<auto>");
  EXPECT_EQ(gateway, "172.19.0.1");
  const auto first = *allocate(s, gateway, {});
  EXPECT_EQ(first, "172.19.0.2");
  const auto full = allocate(s, gateway, {first});
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().code, ENOSPC);
  EXPECT_EQ(full.error().message, "no more inet IP's left in the network");
  // Without a gateway (a loopback network), both usable addresses go to containers.
  EXPECT_EQ(*allocate(s, "", {"172.19.0.1"}), "172.19.0.2");
  EXPECT_FALSE(allocate(s, "", {"172.19.0.1", "172.19.0.2"}));
}

TEST(IpamAllocate, PointToPointAndHostSubnets) {
  const auto s31 = subnet4("10.0.0.0/31");
  EXPECT_EQ(*allocate(s31, "10.0.0.0", {}), "10.0.0.1");
  EXPECT_FALSE(allocate(s31, "10.0.0.0", {"10.0.0.1"}));
  const auto s32 = subnet4("10.0.0.7/32");
  EXPECT_EQ(*allocate(s32, "", {}), "10.0.0.7");
  EXPECT_EQ(allocate(s32, "", {"10.0.0.7"}).error().message,
            "no more inet IP's left in the network");
  const auto s128 = subnet6("fd00::7/128");
  EXPECT_EQ(*allocate(s128, "", {}), "fd00::7");
  EXPECT_EQ(allocate(s128, "fd00::7", {}).error().message,
            "no more inet6 IP's left in the network");
}

TEST(IpamAllocate, IPv6HasNoBroadcast) {
  const auto s = subnet6("fd00::/126");  // fd00::0 .. fd00::3
  EXPECT_EQ(*allocate(s, "fd00::1", {"fd00::2"}), "fd00::3");
  EXPECT_EQ(allocate(s, "fd00::1", {"fd00::2", "fd00::3"}).error().message,
            "no more inet6 IP's left in the network");
  // Used addresses are compared by value, not by spelling.
  EXPECT_EQ(*allocate(subnet6("fd00::/64"), "fd00::1", {"FD00:0::0002"}), "fd00::3");
}

TEST(IpamAllocate, LargeIPv6SubnetsAreNotWalked) {
  const auto s = subnet6("fd00::/8");  // 2^120 addresses
  std::set<std::string> used;
  Address a = *parse_address("fd00::2", Family::inet6);
  for (int i = 0; i < 5000; ++i) {
    used.insert(a.str());
    for (int b = 15; b >= 0 && ++a.bytes[b] == 0; --b) {
    }
  }
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(*allocate(s, "fd00::1", used), a.str());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  // The very end of a huge subnet: the last address is usable, then it is exhausted.
  const auto s127 = subnet6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");
  EXPECT_EQ(*allocate(s127, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", {}),
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  EXPECT_FALSE(allocate(s127, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
                        {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}));
}

TEST(IpamAllocate, TopOfTheIPv4Space) {
  const auto s = subnet4("255.255.255.252/30");
  EXPECT_EQ(*allocate(s, "255.255.255.253", {}), "255.255.255.254");
  EXPECT_FALSE(allocate(s, "255.255.255.253", {"255.255.255.254"}));
}

// --- explicit addresses ----------------------------------------------------------------------

TEST(IpamExplicit, AcceptsAFreeUsableAddress) {
  const auto s = subnet4("10.13.37.0/24");
  EXPECT_EQ(*check_explicit(s, "10.13.37.10", "10.13.37.1", {"10.13.37.2"}), "10.13.37.10");
  EXPECT_EQ(*check_explicit(subnet6("fd00::/64"), "FD00::00A", "fd00::1", {}), "fd00::a");
}

TEST(IpamExplicit, Refusals) {
  const auto s = subnet4("10.13.37.0/24");
  const auto message = [&](std::string_view address) {
    auto r = check_explicit(s, address, "10.13.37.1", {"10.13.37.2"});
    EXPECT_FALSE(r) << address;
    return r ? "" : r.error().message;
  };
  EXPECT_EQ(message("10.13.38.5"), "ip address 10.13.38.5 is outside the subnet 10.13.37.0/24");
  EXPECT_EQ(message("10.13.37.0"), "ip address 10.13.37.0 is the network address of 10.13.37.0/24");
  EXPECT_EQ(message("10.13.37.255"),
            "ip address 10.13.37.255 is the broadcast address of 10.13.37.0/24");
  EXPECT_EQ(message("10.13.37.1"), "ip address 10.13.37.1 is the gateway of the network");
  EXPECT_EQ(message("10.13.37.2"), "ip address 10.13.37.2 is already in use in the network");
  EXPECT_EQ(message("10.13.37.x"),
            "could not parse inet address 10.13.37.x: not a valid IPv4 address");
  EXPECT_EQ(message("fd00::5"), "could not parse inet address fd00::5: not a valid IPv4 address");
  for (const auto* text : {"", " 10.13.37.5", "10.13.37.5/24", "010.13.37.5", "10.13.37.5%lo"}) {
    EXPECT_FALSE(check_explicit(s, text, "", {})) << text;
  }
  EXPECT_FALSE(check_explicit(s, "10.13.37.5\0"s, "", {}));
  EXPECT_EQ(check_explicit(s, "10.13.37.2", "", {"10.13.37.2"}).error().code, EEXIST);
}

TEST(IpamExplicit, DuplicatesAreComparedByValue) {
  const auto s = subnet6("fd00::/64");
  EXPECT_EQ(check_explicit(s, "fd00:0:0::0005", "fd00::1", {"FD00::5"}).error().message,
            "ip address fd00::5 is already in use in the network");
  EXPECT_FALSE(check_explicit(s, "fe80::5%eth0", "", {}));
  EXPECT_FALSE(check_explicit(s, "::ffff:10.0.0.1", "", {}));
  EXPECT_FALSE(check_explicit(s, "fd00::", "", {}));  // the subnet-router anycast address
}

// --- Kleene's create_ip_address ----------------------------------------------------------------

TEST(IpamAssign, KleeneCases) {
  EXPECT_EQ(*assign("10.13.37.0/24", Family::inet, "", "10.13.37.1", {}), "");
  EXPECT_EQ(*assign("", Family::inet, "<auto>", "", {}), "");
  EXPECT_EQ(*assign("", Family::inet6, "<auto>", "", {}), "");
  EXPECT_EQ(assign("", Family::inet, "10.0.0.2", "", {}).error().message,
            "cannot set ip address because there is no IPv4 subnet defined for this network");
  EXPECT_EQ(assign("", Family::inet6, "fd00::2", "", {}).error().message,
            "cannot set ip address because there is no IPv6 subnet defined for this network");
  EXPECT_EQ(*assign("10.13.37.0/24", Family::inet, "<auto>", "10.13.37.1", {"10.13.37.2"}),
            "10.13.37.3");
  EXPECT_EQ(*assign("fd00::/64", Family::inet6, "fd00::20", "fd00::1", {}), "fd00::20");
  EXPECT_EQ(
      assign("172.19.0.0/30", Family::inet, "<auto>", "172.19.0.1", {"172.19.0.2"}).error().message,
      "no more inet IP's left in the network");
  EXPECT_FALSE(assign("bogus", Family::inet, "<auto>", "", {}));
}

}  // namespace
}  // namespace kleene::network
