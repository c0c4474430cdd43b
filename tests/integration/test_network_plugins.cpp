// A third party's network driver: any loaded network plugin can be selected by name
// (`network_driver`, klee's -l), and the core treats it by its capability record only. The
// driver is examples/net-example (built here as a plugin of its own directory): capabilities
// own_netns, custom, loopback, connect_while_running; it makes no interfaces and logs joins.
#include <fstream>
#include <sstream>

#include "container_fixture.hpp"
#include "ws_client.hpp"

namespace kleene::it {
namespace {

class NetworkPluginTest : public ImageKleenedTest {
 protected:
  void SetUp() override {
    daemon.config()["plugin_dirs"].push_back(KLEENE_IT_EXTRA_PLUGIN_DIR);
    ASSERT_NO_FATAL_FAILURE(start_with_image());
  }
  void TearDown() override { remove_everything(); }

  std::string log_text() const {
    std::ifstream in(daemon.log_file());
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
};

TEST_F(NetworkPluginTest, ThirdPartyDriverIsSelectedByNameAndJoined) {
  auto listed = api("GET", "/plugins/list");
  ASSERT_NE(listed.body.find("\"example\""), std::string::npos) << listed.body;

  auto net =
      api("POST", "/networks/create",
          json{{"name", "klexnet"}, {"type", "loopback"}, {"subnet", "10.251.0.0/24"}}.dump());
  ASSERT_EQ(net.status, 201) << net.body;
  auto created = api("POST", "/containers/create?name=klex",
                     json{{"image", "busybox"},
                          {"network_driver", "example"},
                          {"cmd", {"/bin/sh", "-c", "cat /proc/net/dev"}}}
                         .dump());
  ASSERT_EQ(created.status, 201) << created.body;
  const std::string id = json::parse(created.body)["id"];
  // The matrix comes from the record: loopback yes (bridge no, see below).
  auto connected =
      api("POST", "/networks/connect", json{{"container", "klex"}, {"network", "klexnet"}}.dump());
  ASSERT_EQ(connected.status, 204) << connected.body;

  auto exec = api("POST", "/exec/create", json{{"container_id", id}}.dump());
  ASSERT_EQ(exec.status, 201) << exec.body;
  auto run = WsClient::run(
      daemon.socket_path(), "/exec/start",
      json{{"exec_id", json::parse(exec.body)["id"]}, {"attach", true}, {"start_container", true}}
          .dump());
  ASSERT_EQ(run.close_code, 1000) << run.close_reason << run.output();
  // own_netns: the container's namespace has only lo (the driver makes no interfaces).
  EXPECT_NE(run.output().find("lo:"), std::string::npos) << run.output();
  EXPECT_EQ(run.output().find("eth0"), std::string::npos) << run.output();
  EXPECT_NE(log_text().find("joined container " + id + " to network klexnet"), std::string::npos);

  // A bridge network is not in the record: Kleene's message with the driver's name.
  auto bridge =
      api("POST", "/networks/create",
          json{{"name", "klexbr"}, {"type", "bridge"}, {"subnet", "10.252.0.0/24"}}.dump());
  ASSERT_EQ(bridge.status, 201) << bridge.body;
  auto refused =
      api("POST", "/networks/connect", json{{"container", "klex"}, {"network", "klexbr"}}.dump());
  EXPECT_EQ(refused.status, 409) << refused.body;
  EXPECT_EQ(message_of(refused),
            "containers using the 'example' network-driver can't connect to bridge networks");
  EXPECT_EQ(api("DELETE", "/networks/klexbr").status, 200);
  // Removing the network disconnects the container (Kleene's rm).
  EXPECT_EQ(api("DELETE", "/networks/klexnet").status, 200);
  auto inspect = api("GET", "/containers/" + id + "/inspect");
  EXPECT_EQ(json::parse(inspect.body)["container_endpoints"], json::array()) << inspect.body;
}

TEST_F(NetworkPluginTest, UnknownDriverIsRefusedWithTheList) {
  auto created = api("POST", "/containers/create",
                     json{{"image", "busybox"}, {"network_driver", "nope"}}.dump());
  EXPECT_EQ(created.status, 400) << created.body;
  const auto message = message_of(created);
  EXPECT_NE(message.find("unknown network driver 'nope'"), std::string::npos) << message;
  EXPECT_NE(message.find("example"), std::string::npos) << message;
}

}  // namespace
}  // namespace kleene::it
