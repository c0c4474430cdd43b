#include "network/config.hpp"

#include <gtest/gtest.h>

namespace kleene::network {
namespace {

using nlohmann::json;

TEST(NetworkConfigParse, DefaultsAreKleenes) {
  auto config = parse_network_config(json{{"name", "westnet"}});
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->name, "westnet");
  EXPECT_EQ(config->type, "bridge");
  EXPECT_EQ(config->interface, "");
  EXPECT_EQ(config->subnet, "");
  EXPECT_EQ(config->gateway, "");
  EXPECT_EQ(config->nat, "<host-gateway>");
  EXPECT_TRUE(config->icc);
  EXPECT_FALSE(config->internal);
}

TEST(NetworkConfigParse, AllFields) {
  auto config = parse_network_config(json{{"name", "n"},
                                          {"type", "custom"},
                                          {"interface", "eth9"},
                                          {"subnet", "10.1.0.0/16"},
                                          {"subnet6", "fd00::/64"},
                                          {"gateway", "<auto>"},
                                          {"gateway6", ""},
                                          {"nat", ""},
                                          {"icc", false},
                                          {"internal", true}});
  ASSERT_TRUE(config);
  EXPECT_EQ(config->type, "custom");
  EXPECT_EQ(config->interface, "eth9");
  EXPECT_EQ(config->subnet6, "fd00::/64");
  EXPECT_EQ(config->nat, "");
  EXPECT_FALSE(config->icc);
  EXPECT_TRUE(config->internal);
}

TEST(NetworkConfigParse, NullMeansDefault) {
  auto config = parse_network_config(json{{"name", "n"}, {"icc", nullptr}, {"nat", nullptr}});
  ASSERT_TRUE(config);
  EXPECT_TRUE(config->icc);
  EXPECT_EQ(config->nat, "<host-gateway>");
}

TEST(NetworkConfigParse, OpenApiSpexErrors) {
  auto e = parse_network_config(json::array());
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().pointer, "/");
  EXPECT_EQ(e.error().message, "Invalid object. Got: array");

  e = parse_network_config(json{{"type", "bridge"}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().pointer, "/name");
  EXPECT_EQ(e.error().message, "Missing field: name");

  e = parse_network_config(json{{"name", 1}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().pointer, "/name");
  EXPECT_EQ(e.error().message, "Invalid string. Got: number");

  e = parse_network_config(json{{"name", "n"}, {"type", "vlan"}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().pointer, "/type");
  EXPECT_EQ(e.error().message, "Invalid value for enum");

  e = parse_network_config(json{{"name", "n"}, {"icc", "yes"}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().pointer, "/icc");
  EXPECT_EQ(e.error().message, "Invalid boolean. Got: string");

  e = parse_network_config(json{{"name", "n"}, {"interface", "a123456789012345"}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().pointer, "/interface");
}

TEST(EndPointConfigParse, RequiredAndDefaults) {
  auto config = parse_endpoint_config(json{{"container", "web"}, {"network", "westnet"}});
  ASSERT_TRUE(config);
  EXPECT_EQ(config->container, "web");
  EXPECT_EQ(config->network, "westnet");
  EXPECT_EQ(config->ip_address, "");
  EXPECT_EQ(config->ip_address6, "");

  config =
      parse_endpoint_config(json{{"container", "web"}, {"network", "n"}, {"ip_address", "<auto>"}});
  ASSERT_TRUE(config);
  EXPECT_EQ(config->ip_address, "<auto>");

  auto e = parse_endpoint_config(json{{"container", "web"}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "Missing field: network");
  e = parse_endpoint_config(json{{"container", "web"}, {"network", "n"}, {"ip_address6", 6}});
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().pointer, "/ip_address6");
}

NetworkConfig bridge(std::string subnet = "10.13.37.0/24", std::string gateway = "<auto>") {
  NetworkConfig c;
  c.name = "westnet";
  c.subnet = std::move(subnet);
  c.gateway = std::move(gateway);
  return c;
}

TEST(NetworkConfigCheck, AutoGatewayOfABridgeIsTheFirstAddress) {
  auto c = bridge();
  c.subnet6 = "fd00:0::/64";
  c.gateway6 = "<auto>";
  ASSERT_TRUE(check_network_config(c));
  EXPECT_EQ(c.gateway, "10.13.37.1");
  EXPECT_EQ(c.gateway6, "fd00::1");
  EXPECT_EQ(c.subnet6, "fd00::/64");  // canonical
}

TEST(NetworkConfigCheck, AutoGatewayWithoutSubnetOrOnOtherTypesIsNone) {
  auto c = bridge("", "<auto>");
  c.gateway6 = "<auto>";
  ASSERT_TRUE(check_network_config(c));
  EXPECT_EQ(c.gateway, "");
  EXPECT_EQ(c.gateway6, "");

  c = bridge();
  c.type = "loopback";
  ASSERT_TRUE(check_network_config(c));
  EXPECT_EQ(c.gateway, "");
}

TEST(NetworkConfigCheck, ExplicitGateway) {
  auto c = bridge("10.13.37.0/24", "10.13.37.254");
  ASSERT_TRUE(check_network_config(c));
  EXPECT_EQ(c.gateway, "10.13.37.254");

  c = bridge("10.13.37.0/24", "10.13.38.1");
  auto r = check_network_config(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
  EXPECT_EQ(r.error().message.rfind("invalid gateway: ", 0), 0u) << r.error().message;

  c = bridge("", "10.13.37.1");
  r = check_network_config(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "invalid gateway: there is no IPv4 subnet defined for this network");

  c = bridge();
  c.subnet6 = "fd00::/64";
  c.gateway6 = "10.0.0.1";
  r = check_network_config(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("invalid gateway6: ", 0), 0u) << r.error().message;
}

TEST(NetworkConfigCheck, Subnets) {
  auto c = bridge("10.13.37.1/24");
  auto r = check_network_config(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("invalid subnet: ", 0), 0u) << r.error().message;

  c = bridge("10.13.37.0/33");
  r = check_network_config(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "invalid subnet: Invalid mask 33");

  c = bridge();
  c.subnet6 = "10.0.0.0/8";
  r = check_network_config(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("invalid subnet6: ", 0), 0u) << r.error().message;
}

TEST(NetworkConfigCheck, NamesAndInterfaces) {
  auto c = bridge();
  c.name = "";
  EXPECT_FALSE(check_network_config(c));
  c.name = "-x";
  EXPECT_FALSE(check_network_config(c));
  c.name = "a/b";
  EXPECT_FALSE(check_network_config(c));
  c.name = "west.net_1-a";
  EXPECT_TRUE(check_network_config(c));

  c = bridge();
  c.interface = "kl br";
  auto r = check_network_config(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EINVAL);
  for (const char* bad : {"..", ".", "a/b", "a:b", "abcdefghijklmnop"}) {
    EXPECT_FALSE(check_interface_name(bad)) << bad;
  }
  EXPECT_TRUE(check_interface_name("kleene0"));
  EXPECT_TRUE(check_interface_name("eth0.100"));

  c = bridge();
  c.type = "custom";
  r = check_network_config(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "a custom network needs the name of an existing interface");
  c.interface = "eth0";
  EXPECT_TRUE(check_network_config(c));

  c = bridge();
  c.type = "vlan";
  r = check_network_config(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "unknown network type 'vlan'");
}

TEST(NetworkConfigCheck, Nat) {
  auto c = bridge();
  c.nat = "";
  EXPECT_TRUE(check_network_config(c));
  c.nat = "<host-gateway>";
  EXPECT_TRUE(check_network_config(c));
  c.nat = "eth0";
  EXPECT_TRUE(check_network_config(c));
  c.nat = "eth0; drop";
  auto r = check_network_config(c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message.rfind("invalid nat: ", 0), 0u);
}

TEST(ConnectMatrix, KleenesDriversAndTypes) {
  for (const char* type : {"loopback", "bridge", "custom"}) {
    EXPECT_TRUE(can_connect("ipnet", type)) << type;
    EXPECT_TRUE(can_connect("loopback", type)) << type;
    auto host = can_connect("host", type);
    ASSERT_FALSE(host);
    EXPECT_EQ(host.error().message,
              "containers with the 'host' network-driver cannot connect to networks.");
    auto disabled = can_connect("disabled", type);
    ASSERT_FALSE(disabled);
    EXPECT_EQ(disabled.error().message,
              "containers with the 'disabled' network-driver cannot connect to networks.");
  }
  EXPECT_TRUE(can_connect("vnet", "bridge"));
  auto r = can_connect("vnet", "loopback");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "containers using the 'vnet' network-driver can't connect to loopback networks");
  r = can_connect("vnet", "custom");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message,
            "containers using the 'vnet' network-driver can't connect to custom networks");

  r = can_connect("", "bridge");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "a network driver is required");
  EXPECT_FALSE(can_connect("ipnet", "vlan"));
  EXPECT_TRUE(can_connect("acme-vxlan", "bridge"));  // a third party's plugin decides
}

}  // namespace
}  // namespace kleene::network
