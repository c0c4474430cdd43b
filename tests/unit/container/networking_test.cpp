// Kleene's connect matrix as the core derives it from a driver's capability record (never from
// its name), and the built-in "disabled" driver.
#include "container/networking.hpp"

#include <gtest/gtest.h>

#include "kleene/plugin/abi.h"

namespace kleene::container::networking {
namespace {

constexpr std::uint64_t kIpnet = KLEENE_CAP_NET_CONNECT_WHILE_RUNNING | KLEENE_CAP_NET_IPV6 |
                                 KLEENE_CAP_NET_OWN_NETNS | KLEENE_CAP_NET_LOOPBACK |
                                 KLEENE_CAP_NET_BRIDGE | KLEENE_CAP_NET_CUSTOM;
constexpr std::uint64_t kVnet = KLEENE_CAP_NET_CONNECT_WHILE_RUNNING | KLEENE_CAP_NET_IPV6 |
                                KLEENE_CAP_NET_OWN_NETNS | KLEENE_CAP_NET_BRIDGE;

// A stand-in for a loaded plugin: check_connect only looks at whether there is one.
plugin::LoadedPlugin* const kSomePlugin = reinterpret_cast<plugin::LoadedPlugin*>(0x1);

std::string message_of(const Result<void>& r) {
  return r ? std::string("ok") : r.error().message;
}

TEST(ConnectMatrix, FromTheCapabilityRecord) {
  const Driver ipnet{"ipnet", kIpnet, kSomePlugin};
  const Driver vnet{"vnet", kVnet, kSomePlugin};
  for (const char* type : {"loopback", "bridge", "custom"}) {
    EXPECT_TRUE(check_connect(ipnet, type, false)) << type;
    EXPECT_TRUE(check_connect(ipnet, type, true)) << type;
  }
  EXPECT_TRUE(check_connect(vnet, "bridge", true));
  EXPECT_EQ(message_of(check_connect(vnet, "loopback", false)),
            "containers using the 'vnet' network-driver can't connect to loopback networks");
  EXPECT_EQ(message_of(check_connect(vnet, "custom", false)),
            "containers using the 'vnet' network-driver can't connect to custom networks");
}

TEST(ConnectMatrix, DriversWithoutEndpoints) {
  const Driver host{"host", KLEENE_CAP_NET_NO_ENDPOINTS, kSomePlugin};
  const Driver disabled{"disabled", KLEENE_CAP_NET_OWN_NETNS, nullptr};
  EXPECT_EQ(message_of(check_connect(host, "bridge", false)),
            "containers with the 'host' network-driver cannot connect to networks.");
  EXPECT_EQ(message_of(check_connect(disabled, "loopback", false)),
            "containers with the 'disabled' network-driver cannot connect to networks.");
  EXPECT_FALSE(host.own_netns());
  EXPECT_FALSE(host.has_endpoints());
  EXPECT_TRUE(disabled.own_netns());
  EXPECT_FALSE(disabled.has_endpoints());
}

TEST(ConnectMatrix, RunningNeedsConnectWhileRunning) {
  // A third party's driver that attaches only before a start.
  const Driver cold{"cold", KLEENE_CAP_NET_OWN_NETNS | KLEENE_CAP_NET_BRIDGE, kSomePlugin};
  EXPECT_TRUE(check_connect(cold, "bridge", false));
  EXPECT_EQ(message_of(check_connect(cold, "bridge", true)),
            "cannot connect a running cold container to a network");
}

}  // namespace
}  // namespace kleene::container::networking
