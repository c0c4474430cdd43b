// klee's network commands against the in-test kleened stand-in: the requests each command
// sends (target and body), Kleene's output and messages, usage errors (exit 2) and daemon
// errors (exit 1).
#include <gtest/gtest.h>

#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app.hpp"
#include "test_server.hpp"
#include "test_support.hpp"

namespace klee {
namespace {

using nlohmann::json;
using test::TestServer;

struct Run {
  int code;
  std::string out, err;
};

// klee --host <server> --theme simple ARGS..., with `input` as its standard input.
Run klee_at(const TestServer& server, std::vector<std::string> args,
            const std::string& input = "") {
  args.insert(args.begin(), {"--host", server.url(), "--theme", "simple"});
  std::istringstream in(input);
  auto* saved = std::cin.rdbuf(in.rdbuf());
  std::ostringstream out, err;
  const int code = run_klee(args, test::fake_env({{"HOME", "/nonexistent-kleene-home"}}), out, err);
  std::cin.rdbuf(saved);
  return {code, out.str(), err.str()};
}

TEST(NetworkCommands, CreateSendsKleenesDefaults) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"network", "create", "westnet"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "a1b2c3d4e5f6\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(server->last().method, "POST");
  EXPECT_EQ(server->last().target, "/networks/create");
  EXPECT_EQ(json::parse(server->last().body), (json{{"name", "westnet"},
                                                    {"type", "loopback"},
                                                    {"interface", ""},
                                                    {"subnet", ""},
                                                    {"subnet6", ""},
                                                    {"gateway", "<auto>"},
                                                    {"gateway6", "<auto>"},
                                                    {"nat", "<host-gateway>"},
                                                    {"icc", true},
                                                    {"internal", false}}));
}

TEST(NetworkCommands, CreateWithEveryOption) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(
      *server,
      {"network",       "create",    "-t",          "bridge", "-i",           "kleene7", "--subnet",
       "10.13.37.0/24", "--subnet6", "fd00:1::/64", "--gw",   "10.13.37.254", "--gw6",   "",
       "--nat-if",      "eth9",      "--icc",       "false",  "--internal",   "westnet"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "a1b2c3d4e5f6\n");
  const auto sent = json::parse(server->last().body);
  EXPECT_EQ(sent["type"], "bridge");
  EXPECT_EQ(sent["interface"], "kleene7");
  EXPECT_EQ(sent["subnet"], "10.13.37.0/24");
  EXPECT_EQ(sent["subnet6"], "fd00:1::/64");
  EXPECT_EQ(sent["gateway"], "10.13.37.254");
  EXPECT_EQ(sent["gateway6"], "");  // `--gw6 ""`: no gateway
  EXPECT_EQ(sent["nat"], "eth9");
  EXPECT_EQ(sent["icc"], false);
  EXPECT_EQ(sent["internal"], true);

  auto long_forms = klee_at(*server, {"network", "create", "--type=custom", "--interface=eth0",
                                      "--icc", "Yes", "--nat", "on", "lan"});
  ASSERT_EQ(long_forms.code, 0) << long_forms.err;
  const auto sent2 = json::parse(server->last().body);
  EXPECT_EQ(sent2["type"], "custom");
  EXPECT_EQ(sent2["interface"], "eth0");
  EXPECT_EQ(sent2["icc"], true);
  EXPECT_EQ(sent2["nat"], "<host-gateway>");
}

TEST(NetworkCommands, CreateWithoutNat) {
  auto server = TestServer::on_tcp();
  // Kleene's `--nat false`: no NAT, whatever --nat-if says.
  auto r = klee_at(*server, {"network", "create", "--nat", "false", "--nat-if", "eth9", "n1"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(json::parse(server->last().body)["nat"], "");
  auto no_nat = klee_at(*server, {"network", "create", "--no-nat", "n2"});
  ASSERT_EQ(no_nat.code, 0) << no_nat.err;
  EXPECT_EQ(json::parse(server->last().body)["nat"], "");
  auto zero = klee_at(*server, {"network", "create", "--nat", "0", "n3"});
  ASSERT_EQ(zero.code, 0) << zero.err;
  EXPECT_EQ(json::parse(server->last().body)["nat"], "");
}

TEST(NetworkCommands, CreateUsageErrors) {
  auto server = TestServer::on_tcp();
  auto type = klee_at(*server, {"network", "create", "-t", "vnet", "n1"});
  EXPECT_EQ(type.code, 2);
  EXPECT_EQ(type.err,
            "Error: Invalid value for '-t' / '--type': 'vnet' is not one of 'bridge', "
            "'loopback', 'custom'.\n");
  auto nat = klee_at(*server, {"network", "create", "--nat", "maybe", "n1"});
  EXPECT_EQ(nat.code, 2);
  EXPECT_EQ(nat.err, "Error: Invalid value for '--nat': 'maybe' is not a valid boolean.\n");
  auto icc = klee_at(*server, {"network", "create", "--icc", "", "n1"});
  EXPECT_EQ(icc.code, 2);
  EXPECT_EQ(icc.err, "Error: Invalid value for '--icc': '' is not a valid boolean.\n");
  auto no_name = klee_at(*server, {"network", "create", "-t", "bridge"});
  EXPECT_EQ(no_name.code, 2);
  EXPECT_NE(no_name.err.find("Missing argument 'NAME'."), std::string::npos) << no_name.err;
  auto extra = klee_at(*server, {"network", "create", "a", "b"});
  EXPECT_EQ(extra.code, 2);
  auto unknown = klee_at(*server, {"network", "create", "--driver", "vnet", "n1"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("No such option: --driver"), std::string::npos) << unknown.err;
  // None of them reached the daemon.
  EXPECT_TRUE(server->last().targets.empty());
}

TEST(NetworkCommands, CreateDaemonErrors) {
  auto server = TestServer::on_tcp();
  auto taken = klee_at(*server, {"network", "create", "taken"});
  EXPECT_EQ(taken.code, 1);
  EXPECT_EQ(taken.out, "");
  EXPECT_EQ(taken.err, "network name is already taken\n");
  auto boom = klee_at(*server, {"network", "create", "boom"});
  EXPECT_EQ(boom.code, 1);
  EXPECT_EQ(boom.err, "boom\n");
}

TEST(NetworkCommands, LsPrintsKleenesTable) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"network", "ls"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(server->last().method, "GET");
  EXPECT_EQ(server->last().target, "/networks/list");
  EXPECT_EQ(r.out,
            " ID           | NAME    | TYPE     | SUBNET        \n"
            "--------------+---------+----------+---------------\n"
            " a1b2c3d4e5f6 | westnet | bridge   | 10.13.37.0/24 \n"
            " 0f9e8d7c6b5a | loop    | loopback | 10.20.0.0/16  \n");

  auto list = klee_at(*server, {"network", "list"});
  EXPECT_EQ(list.code, 0);
  EXPECT_EQ(list.out, r.out);
}

TEST(NetworkCommands, Inspect) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"network", "inspect", "westnet"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(server->last().method, "GET");
  EXPECT_EQ(server->last().target, "/networks/westnet/inspect");
  const auto shown = json::parse(r.out);
  EXPECT_EQ(shown["network"]["name"], "westnet");
  EXPECT_EQ(shown["network_endpoints"][0]["ip_address"], "10.13.37.2");

  auto missing = klee_at(*server, {"network", "inspect", "nothere"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(missing.err, "network not found\n");

  // An identifier is one path segment.
  (void)klee_at(*server, {"network", "inspect", "a/b c"});
  EXPECT_EQ(server->last().target, "/networks/a%2Fb%20c/inspect");
  EXPECT_EQ(klee_at(*server, {"network", "inspect"}).code, 2);
}

TEST(NetworkCommands, RmRemovesEachAndStopsAtAFailure) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"network", "rm", "westnet", "loop"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "westnet\nloop\n");
  EXPECT_EQ(server->last().method, "DELETE");
  EXPECT_EQ(server->last().targets,
            (std::vector<std::string>{"/networks/westnet", "/networks/loop"}));

  auto failed = klee_at(*server, {"network", "rm", "westnet", "nothere", "loop"});
  EXPECT_EQ(failed.code, 1);
  EXPECT_EQ(failed.out, "westnet\n");
  EXPECT_EQ(failed.err, "network not found\n");
  EXPECT_EQ(server->last().target, "/networks/nothere");  // loop was not tried

  auto none = klee_at(*server, {"network", "rm"});
  EXPECT_EQ(none.code, 2);
  EXPECT_NE(none.err.find("Missing argument 'NETWORKS"), std::string::npos) << none.err;
}

TEST(NetworkCommands, PruneAsksUnlessForced) {
  auto server = TestServer::on_tcp();
  auto forced = klee_at(*server, {"network", "prune", "-f"});
  ASSERT_EQ(forced.code, 0) << forced.err;
  EXPECT_EQ(forced.out, "0f9e8d7c6b5a\n");
  EXPECT_EQ(server->last().method, "POST");
  EXPECT_EQ(server->last().target, "/networks/prune");

  auto yes = klee_at(*server, {"network", "prune"}, "y\n");
  ASSERT_EQ(yes.code, 0) << yes.err;
  EXPECT_EQ(yes.out,
            "WARNING! This will remove all unused networks.\n"
            "Are you sure you want to continue? [y/N]: 0f9e8d7c6b5a\n");

  auto declined = TestServer::on_tcp();
  auto no = klee_at(*declined, {"network", "prune"}, "\n");
  EXPECT_EQ(no.code, 1);
  EXPECT_EQ(no.out,
            "WARNING! This will remove all unused networks.\n"
            "Are you sure you want to continue? [y/N]: ");
  EXPECT_EQ(no.err, "Aborted!\n");
  EXPECT_TRUE(declined->last().targets.empty());  // nothing was sent
}

TEST(NetworkCommands, ConnectSendsAnEndPointConfig) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"network", "connect", "westnet", "web"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");  // Kleene prints nothing
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(server->last().method, "POST");
  EXPECT_EQ(server->last().target, "/networks/connect");
  EXPECT_EQ(json::parse(server->last().body), (json{{"network", "westnet"},
                                                    {"container", "web"},
                                                    {"ip_address", "<auto>"},
                                                    {"ip_address6", "<auto>"}}));

  auto explicit_ips = klee_at(
      *server, {"network", "connect", "--ip", "10.13.37.9", "--ip6", "fd00::9", "westnet", "web"});
  ASSERT_EQ(explicit_ips.code, 0) << explicit_ips.err;
  const auto sent = json::parse(server->last().body);
  EXPECT_EQ(sent["ip_address"], "10.13.37.9");
  EXPECT_EQ(sent["ip_address6"], "fd00::9");
}

TEST(NetworkCommands, ConnectErrors) {
  auto server = TestServer::on_tcp();
  auto missing = klee_at(*server, {"network", "connect", "nothere", "web"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "network not found\n");
  auto full = klee_at(*server, {"network", "connect", "full", "web"});
  EXPECT_EQ(full.code, 1);
  EXPECT_EQ(full.err, "no more inet IP's left in the network\n");
  auto one = klee_at(*server, {"network", "connect", "westnet"});
  EXPECT_EQ(one.code, 2);
  EXPECT_NE(one.err.find("Missing argument 'CONTAINER'."), std::string::npos) << one.err;
  EXPECT_EQ(klee_at(*server, {"network", "connect", "--ip"}).code, 2);
}

TEST(NetworkCommands, Disconnect) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"network", "disconnect", "westnet", "web"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(server->last().method, "POST");
  EXPECT_EQ(server->last().target, "/networks/westnet/disconnect/web");

  auto missing = klee_at(*server, {"network", "disconnect", "westnet", "nothere"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "network not found\n");
  EXPECT_EQ(klee_at(*server, {"network", "disconnect", "westnet"}).code, 2);
}

TEST(NetworkCommands, GroupHelpListsTheCommands) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"network", "--help"});
  ASSERT_EQ(r.code, 0) << r.err;
  for (const char* word : {"create", "ls", "inspect", "rm", "prune", "connect", "disconnect"})
    EXPECT_NE(r.out.find(word), std::string::npos) << word << "\n" << r.out;
  auto root = klee_at(*server, {"--help"});
  EXPECT_NE(root.out.find("Manage networks"), std::string::npos) << root.out;
  auto create = klee_at(*server, {"network", "create", "--help"});
  for (const char* flag :
       {"--type", "--interface", "--subnet6", "--gw6", "--nat-if", "--icc", "--internal"})
    EXPECT_NE(create.out.find(flag), std::string::npos) << flag << "\n" << create.out;
}

}  // namespace
}  // namespace klee
