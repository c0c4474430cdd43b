// Parsing and validation of join/leave requests (plugins/net-common), pure logic.
#include "net-common/request.hpp"

#include <gtest/gtest.h>

#include "kleene/plugin/sdk.hpp"

namespace netdrv = kleene::netdrv;
using nlohmann::json;

namespace {

json join_request() {
  return json{{"container_id", "4b1c0e2d9a7f"},
              {"netns", "/proc/1/ns/net"},
              {"endpoint", {{"id", "8c2d00aa11bb22cc"}, {"ip_address", "10.13.0.2"}}},
              {"network",
               {{"id", "n1"},
                {"name", "kltest"},
                {"type", "bridge"},
                {"interface", "kleene0"},
                {"subnet", "10.13.0.7/24"},
                {"subnet6", "fd00:13::9/64"},
                {"gateway", "10.13.0.1"}}},
              {"default_route", true}};
}

kleene_status status_of(const json& request) {
  try {
    (void)netdrv::parse_join(request);
  } catch (const kleene::sdk::Error& e) {
    return e.status();
  }
  return KLEENE_OK;
}

TEST(NetDriverRequest, ParsesAndNormalisesSubnets) {
  const auto join = netdrv::parse_join(join_request());
  EXPECT_EQ(join.container_id, "4b1c0e2d9a7f");
  EXPECT_EQ(join.endpoint.ip, "10.13.0.2");
  EXPECT_EQ(join.network.subnet.cidr, "10.13.0.0/24");
  EXPECT_EQ(join.network.subnet.prefix, 24);
  EXPECT_EQ(join.network.subnet6.cidr, "fd00:13::/64");
  EXPECT_TRUE(join.default_route);
  EXPECT_TRUE(netdrv::subnet_contains(join.network.subnet, "10.13.0.200"));
  EXPECT_FALSE(netdrv::subnet_contains(join.network.subnet, "10.13.1.2"));
  EXPECT_FALSE(netdrv::subnet_contains(join.network.subnet, "fd00:13::2"));
  EXPECT_TRUE(netdrv::subnet_contains(join.network.subnet6, "fd00:13::2"));
}

TEST(NetDriverRequest, Names) {
  // 8 characters of the endpoint id and the low 16 bits of the namespace's inode, in hex.
  EXPECT_EQ(netdrv::host_link_name('i', "8c2d00aa11bb22cc", 0xf00001db), "kli8c2d00aa01db");
  EXPECT_EQ(netdrv::host_link_name('v', "8c2d", 0xa), "klv8c2d000a");
  EXPECT_EQ(netdrv::host_link_prefix('i', "8c2d00aa11bb22cc"), "kli8c2d00aa");
  EXPECT_EQ(netdrv::legacy_host_link_name('i', "8c2d00aa11bb22cc"), "kli8c2d00aa11bb");
  EXPECT_EQ(netdrv::peer_link_name("8c2d00aa11bb22cc"), "klp8c2d00aa11bb");
}

TEST(NetDriverRequest, RefusesBadRequests) {
  EXPECT_EQ(status_of(json::array()), KLEENE_E_INVALID);
  const std::vector<std::pair<json::json_pointer, json>> bad = {
      {json::json_pointer("/container_id"), ""},
      {json::json_pointer("/container_id"), "4b1c;rm -rf"},
      {json::json_pointer("/netns"), "proc/1/ns/net"},
      {json::json_pointer("/netns"), 7},
      {json::json_pointer("/endpoint/id"), "eth0;rm"},
      {json::json_pointer("/endpoint/id"), "../../x"},
      {json::json_pointer("/endpoint/ip_address"), "10.13.0.256"},
      {json::json_pointer("/endpoint/ip_address"), "10.13.0.2/24"},
      {json::json_pointer("/endpoint/ip_address"), "fd00::2"},
      {json::json_pointer("/endpoint/ip_address"), "127.0.0.1"},
      {json::json_pointer("/endpoint/ip_address6"), "10.13.0.2"},
      {json::json_pointer("/endpoint/ip_address6"), "::ffff:10.13.0.2"},
      {json::json_pointer("/endpoint/ip_address6"), "ff02::1"},
      {json::json_pointer("/network/type"), "overlay"},
      {json::json_pointer("/network/interface"), "eth0;rm"},
      {json::json_pointer("/network/interface"), "kleene0/../x"},
      {json::json_pointer("/network/subnet"), "10.13.0.0/33"},
      {json::json_pointer("/network/subnet"), "10.13.0.0"},
      {json::json_pointer("/network/subnet"), "10.13.0.0/024"},
      {json::json_pointer("/network/subnet6"), "10.13.0.0/24"},
      {json::json_pointer("/network/gateway"), "x"},
      {json::json_pointer("/default_route"), "yes"},
  };
  for (const auto& [pointer, value] : bad) {
    auto request = join_request();
    request[pointer] = value;
    EXPECT_EQ(status_of(request), KLEENE_E_INVALID) << pointer.to_string() << " = " << value;
  }
  for (const char* key : {"container_id", "netns", "endpoint", "network"}) {
    auto request = join_request();
    request.erase(key);
    EXPECT_EQ(status_of(request), KLEENE_E_INVALID) << "without " << key;
  }
  auto no_address = join_request();
  no_address["endpoint"].erase("ip_address");
  EXPECT_EQ(status_of(no_address), KLEENE_E_INVALID);
  auto no_type = join_request();
  no_type["network"].erase("type");
  EXPECT_EQ(status_of(no_type), KLEENE_E_INVALID);
}

TEST(NetDriverRequest, LeaveOnlyDeletesTheDriversOwnLinks) {
  auto request = join_request();
  request["netns"] = "";
  for (const char* name : {"kli8c2d00aa11bb", ""}) {
    request["endpoint"]["interface"] = name;
    EXPECT_NO_THROW((void)netdrv::parse_leave(request, 'i')) << name;
  }
  for (const char* name : {"kleene0", "eth0", "klv8c2d00aa11bb", "eth0;rm", "kli/../x"}) {
    request["endpoint"]["interface"] = name;
    try {
      (void)netdrv::parse_leave(request, 'i');
      ADD_FAILURE() << name << " accepted";
    } catch (const kleene::sdk::Error& e) {
      EXPECT_EQ(e.status(), KLEENE_E_INVALID) << name;
    }
  }
}

}  // namespace
