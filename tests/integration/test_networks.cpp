// /networks/* against a real kleened: bridge networks make their Linux bridge (with the gateway
// address) and the nftables table `inet kleene`; rm and prune take both away again; a custom
// network uses an existing interface and leaves it alone; loopback networks make nothing in the
// kernel. The kernel is only read here (ip -o, nft list) except for the interface the custom
// network test makes itself through kleene's netlink library.
#include <gtest/gtest.h>

#include <string>

#include "common.hpp"
#include "network/netlink.hpp"

namespace kleene::it {
namespace {

class NetworksTest : public KleenedTest {
 protected:
  void SetUp() override { ASSERT_TRUE(daemon.start()); }

  // Whatever a failed test left: every network (none has endpoints) goes with prune.
  void TearDown() override { (void)request("POST", "/networks/prune"); }

  HttpResponse request(const std::string& method, const std::string& target,
                       const std::string& body = "") {
    std::map<std::string, std::string> headers;
    if (!body.empty()) headers.emplace("Content-Type", "application/json");
    return http_unix(daemon.socket_path(), method, target, body, std::move(headers));
  }

  static json body_of(const HttpResponse& r) {
    json body = json::parse(r.body, nullptr, false);
    EXPECT_FALSE(body.is_discarded()) << "not JSON: " << r.body;
    return body;
  }

  // POST /networks/create; the id on 201, "" otherwise (the response in `out`).
  std::string create(const json& config, HttpResponse* out = nullptr) {
    HttpResponse r = request("POST", "/networks/create", config.dump());
    if (out != nullptr) *out = r;
    if (r.status != 201) return {};
    return body_of(r).value("id", "");
  }

  json inspect(const std::string& id) {
    HttpResponse r = request("GET", "/networks/" + id + "/inspect");
    EXPECT_EQ(r.status, 200) << r.body;
    return body_of(r);
  }

  static ProcessResult tool(const std::vector<std::string>& args) {
    std::vector<std::string> argv{find_program(args.front())};
    argv.insert(argv.end(), args.begin() + 1, args.end());
    return run_command(argv, test_environment(), std::chrono::seconds(10));
  }

  static bool link_exists(const std::string& name) {
    return tool({"ip", "-o", "link", "show", "dev", name}).exit_code == 0;
  }

  static bool table_exists() {
    return tool({"nft", "list", "table", "inet", "kleene"}).exit_code == 0;
  }
};

TEST_F(NetworksTest, BridgeNetworkMakesItsBridgeAndFirewall) {
  const std::string id = create({{"name", "kltestnet"},
                                 {"type", "bridge"},
                                 {"subnet", "10.213.7.0/24"},
                                 {"gateway", "<auto>"},
                                 {"nat", ""}});
  ASSERT_FALSE(id.empty());

  const json info = inspect(id);
  const json& network = info["network"];
  EXPECT_EQ(network["id"], id);
  EXPECT_EQ(network["name"], "kltestnet");
  EXPECT_EQ(network["type"], "bridge");
  EXPECT_EQ(network["subnet"], "10.213.7.0/24");
  EXPECT_EQ(network["gateway"], "10.213.7.1");
  EXPECT_EQ(info["network_endpoints"], json::array());
  const std::string bridge = network["interface"];
  ASSERT_TRUE(bridge.starts_with("kleene")) << bridge;

  auto link = tool({"ip", "-o", "link", "show", "dev", bridge});
  EXPECT_EQ(link.exit_code, 0) << describe(link);
  EXPECT_TRUE(contains(link.out, ",UP")) << link.out;
  auto address = tool({"ip", "-o", "addr", "show", "dev", bridge});
  EXPECT_TRUE(contains(address.out, "inet 10.213.7.1/24")) << address.out;
  auto table = tool({"nft", "list", "table", "inet", "kleene"});
  EXPECT_EQ(table.exit_code, 0) << describe(table);
  EXPECT_TRUE(contains(table.out, bridge)) << table.out;

  // list, and inspect by name.
  HttpResponse listed = request("GET", "/networks/list");
  ASSERT_EQ(listed.status, 200);
  const json list = body_of(listed);
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(list[0]["id"], id);
  EXPECT_EQ(inspect("kltestnet")["network"]["id"], id);

  HttpResponse removed = request("DELETE", "/networks/kltestnet");
  EXPECT_EQ(removed.status, 200) << removed.body;
  EXPECT_EQ(body_of(removed), (json{{"id", id}}));
  EXPECT_FALSE(link_exists(bridge));
  EXPECT_FALSE(table_exists());
  EXPECT_EQ(body_of(request("GET", "/networks/list")), json::array());
}

TEST_F(NetworksTest, NamedBridgeAndIpv6Gateway) {
  const std::string id = create({{"name", "kltestv6"},
                                 {"interface", "kltestbr0"},
                                 {"subnet", "10.213.8.0/24"},
                                 {"gateway", "10.213.8.254"},
                                 {"subnet6", "fd00:213:8::/64"},
                                 {"gateway6", "<auto>"}});
  ASSERT_FALSE(id.empty());
  auto address = tool({"ip", "-o", "addr", "show", "dev", "kltestbr0"});
  EXPECT_TRUE(contains(address.out, "inet 10.213.8.254/24")) << address.out;
  EXPECT_TRUE(contains(address.out, "inet6 fd00:213:8::1/64")) << address.out;
  EXPECT_EQ(request("DELETE", "/networks/" + id).status, 200);
  EXPECT_FALSE(link_exists("kltestbr0"));
}

TEST_F(NetworksTest, DuplicatesAndBadConfigsAreRefused) {
  ASSERT_FALSE(create({{"name", "kltestdup"}, {"subnet", "10.213.9.0/24"}}).empty());
  HttpResponse r;
  EXPECT_TRUE(create({{"name", "kltestdup"}, {"subnet", "10.213.10.0/24"}}, &r).empty());
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(body_of(r), (json{{"message", "network name is already taken"}}));

  EXPECT_TRUE(create({{"name", "kltestbad"}, {"subnet", "10.213.300.0/24"}}, &r).empty());
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_TRUE(
      create({{"name", "kltestbad"}, {"subnet", "10.213.11.0/24"}, {"gateway", "10.213.12.1"}}, &r)
          .empty());
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_TRUE(contains(body_of(r).value("message", ""), "gateway")) << r.body;
  // A bridge kleene did not name kl... is never made.
  EXPECT_TRUE(create({{"name", "kltestbad"}, {"interface", "eth9"}}, &r).empty());
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_FALSE(link_exists("eth9"));
  // Body validation (OpenApiSpex).
  EXPECT_EQ(request("POST", "/networks/create", R"({"type": "bridge"})").status, 422);
  EXPECT_EQ(request("POST", "/networks/create", R"({"name": "x", "type": "nope"})").status, 422);

  // Failed creates left nothing behind.
  const json list = body_of(request("GET", "/networks/list"));
  ASSERT_EQ(list.size(), 1u) << list.dump();
  EXPECT_EQ(request("DELETE", "/networks/kltestdup").status, 200);
}

TEST_F(NetworksTest, UnknownNetworkIs404) {
  for (const auto& [method, target] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/networks/nothere/inspect"}, {"DELETE", "/networks/nothere"}}) {
    HttpResponse r = request(method, target);
    EXPECT_EQ(r.status, 404) << target << ": " << r.body;
    EXPECT_EQ(body_of(r), (json{{"message", "network not found"}}));
  }
  // Connecting needs containers, hence storage, which this daemon (no pool) has not.
  EXPECT_EQ(request("POST", "/networks/connect", R"({"container": "c", "network": "n"})").status,
            500);
}

TEST_F(NetworksTest, CustomNetworkNeverDestroysItsInterface) {
  auto nl = network::netlink::Netlink::open();
  ASSERT_TRUE(nl) << nl.error().message;
  ASSERT_TRUE(nl->create_bridge("kltestcu0"));
  struct Cleanup {
    network::netlink::Netlink& nl;
    ~Cleanup() { (void)nl.delete_link("kltestcu0"); }
  } cleanup{*nl};

  HttpResponse r;
  EXPECT_TRUE(
      create({{"name", "kltestcustom"}, {"type", "custom"}, {"interface", "kltestnone"}}, &r)
          .empty());
  EXPECT_EQ(r.status, 409) << r.body;

  const std::string id = create({{"name", "kltestcustom"},
                                 {"type", "custom"},
                                 {"interface", "kltestcu0"},
                                 {"subnet", "10.213.13.0/24"},
                                 {"nat", ""}},
                                &r);
  ASSERT_FALSE(id.empty()) << r.body;
  EXPECT_EQ(inspect(id)["network"]["interface"], "kltestcu0");
  // A bridge network may not take an interface that exists.
  EXPECT_TRUE(create({{"name", "kltesttaken"}, {"interface", "kltestcu0"}}, &r).empty());
  EXPECT_EQ(r.status, 409) << r.body;

  EXPECT_EQ(request("DELETE", "/networks/" + id).status, 200);
  EXPECT_TRUE(link_exists("kltestcu0"));
  auto address = tool({"ip", "-o", "addr", "show", "dev", "kltestcu0"});
  EXPECT_FALSE(contains(address.out, "10.213.13.")) << address.out;
}

TEST_F(NetworksTest, LoopbackNetworkAndPrune) {
  const std::string lo =
      create({{"name", "kltestlo"}, {"type", "loopback"}, {"subnet", "10.213.14.0/24"}});
  ASSERT_FALSE(lo.empty());
  EXPECT_EQ(inspect(lo)["network"]["type"], "loopback");
  const std::string br = create({{"name", "kltestbr"}, {"subnet", "10.213.15.0/24"}});
  ASSERT_FALSE(br.empty());
  const std::string bridge = inspect(br)["network"]["interface"];
  EXPECT_TRUE(link_exists(bridge));

  HttpResponse pruned = request("POST", "/networks/prune");
  ASSERT_EQ(pruned.status, 200) << pruned.body;
  json ids = body_of(pruned);
  ASSERT_TRUE(ids.is_array());
  std::set<std::string> got;
  for (const auto& id : ids)
    got.insert(id.get<std::string>());
  EXPECT_EQ(got, (std::set<std::string>{lo, br}));
  EXPECT_FALSE(link_exists(bridge));
  EXPECT_FALSE(table_exists());
  EXPECT_EQ(body_of(request("POST", "/networks/prune")), json::array());
}

// klee's network commands against the real daemon: create prints the id, ls shows it, inspect
// names the bridge, rm prints the id and the bridge is gone.
TEST_F(NetworksTest, KleeNetworkCommands) {
  auto klee = [this](std::vector<std::string> args) {
    args.insert(args.begin(), {"--host", unix_host(), "--theme", "simple"});
    return run_klee(args);
  };
  auto created = klee({"network", "create", "-t", "bridge", "--subnet", "10.213.16.0/24", "--gw",
                       "10.213.16.1", "--nat", "false", "kltestklee"});
  ASSERT_EQ(created.exit_code, 0) << describe(created);
  std::string id = created.out.substr(0, created.out.find('\n'));
  ASSERT_FALSE(id.empty()) << describe(created);
  const std::string bridge = inspect(id)["network"]["interface"];
  EXPECT_TRUE(link_exists(bridge));

  auto listed = klee({"network", "ls"});
  EXPECT_EQ(listed.exit_code, 0) << describe(listed);
  EXPECT_TRUE(contains(listed.out, "kltestklee")) << listed.out;
  EXPECT_TRUE(contains(listed.out, "10.213.16.0/24")) << listed.out;

  auto removed = klee({"network", "rm", "kltestklee"});
  EXPECT_EQ(removed.exit_code, 0) << describe(removed);
  EXPECT_TRUE(contains(removed.out, id.substr(0, 12))) << removed.out;
  EXPECT_FALSE(link_exists(bridge));

  auto missing = klee({"network", "rm", "kltestklee"});
  EXPECT_NE(missing.exit_code, 0) << describe(missing);
  EXPECT_TRUE(contains(missing.out + missing.err, "network not found")) << describe(missing);
}

}  // namespace
}  // namespace kleene::it
