#include <gtest/gtest.h>

#include "container/container.hpp"
#include "container/exec.hpp"
#include "container/service.hpp"
#include "util/strings.hpp"

namespace kleene::container {
namespace {

using nlohmann::json;

TEST(ContainerConfig, ParsesEveryField) {
  auto config = parse_config(json::parse(R"({
    "name": "web", "image": "base:latest", "cmd": ["/bin/sh", "-c", "ls"], "user": "www",
    "env": ["A=1"], "jail_param": ["allow.raw_sockets"], "persist": true,
    "restart_policy": "on-startup", "network_driver": "host",
    "mounts": [{"type": "volume", "source": "db", "destination": "/db", "read_only": true}]
  })"));
  ASSERT_TRUE(config);
  EXPECT_EQ(config->name, "web");
  EXPECT_EQ(config->image, "base:latest");
  EXPECT_EQ(config->cmd->size(), 3u);
  EXPECT_EQ(config->user, "www");
  EXPECT_EQ(*config->persist, true);
  EXPECT_EQ(config->restart_policy, "on-startup");
  ASSERT_EQ(config->mounts->size(), 1u);
  EXPECT_TRUE(config->mounts->front().read_only);
}

TEST(ContainerConfig, NullAndMissingMeanUnchanged) {
  auto config = parse_config(json::parse(R"({"name": null, "env": null})"));
  ASSERT_TRUE(config);
  EXPECT_FALSE(config->name);
  EXPECT_FALSE(config->env);
  EXPECT_FALSE(config->cmd);
}

TEST(ContainerConfig, RejectsWrongTypes) {
  auto bad_cmd = parse_config(json::parse(R"({"cmd": "ls"})"));
  ASSERT_FALSE(bad_cmd);
  EXPECT_EQ(bad_cmd.error().pointer, "/cmd");
  auto bad_item = parse_config(json::parse(R"({"env": ["A=1", 2]})"));
  ASSERT_FALSE(bad_item);
  EXPECT_EQ(bad_item.error().pointer, "/env/1");
  auto bad_policy = parse_config(json::parse(R"({"restart_policy": "always"})"));
  ASSERT_FALSE(bad_policy);
  EXPECT_EQ(bad_policy.error().pointer, "/restart_policy");
  auto bad_mount = parse_config(json::parse(R"({"mounts": [{"type": "tmpfs", "source": "x",
    "destination": "/x"}]})"));
  ASSERT_FALSE(bad_mount);
  EXPECT_EQ(bad_mount.error().pointer, "/mounts/0/type");
  auto missing = parse_config(json::parse(R"({"mounts": [{"type": "volume", "source": "x"}]})"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().pointer, "/mounts/0/destination");
}

// Published ports are checked as the firewall reads them (the reproducers in
// tests/fuzz/crashes/mount_publish-public-port-*.json were stored before and broke every reload).
TEST(ContainerConfig, PublicPortsAreChecked) {
  auto ok = parse_config(json::parse(
      R"({"public_ports": [{"interfaces": ["eth0"], "host_port": "8080", "container_port": "80",
                            "protocol": "tcp"}, {"host_port": "1000:1010", "protocol": "udp"}]})"));
  ASSERT_TRUE(ok) << ok.error().message;
  const std::pair<const char*, const char*> bad[] = {
      {R"({"public_ports": [{"host_port": 8080, "container_port": "80"}]})",
       "/public_ports/0/host_port"},
      {R"({"public_ports": [{"host_port": "0", "container_port": "80"}]})",
       "/public_ports/0/host_port"},
      {R"({"public_ports": [{"host_port": "80", "protocol": "sctp"}]})",
       "/public_ports/0/protocol"},
      {R"({"public_ports": [{"host_port": "80", "interfaces": ["bad name"]}]})",
       "/public_ports/0/interfaces/0"},
      {R"({"public_ports": ["80:80"]})", "/public_ports/0"},
  };
  for (const auto& [body, pointer] : bad) {
    auto parsed = parse_config(json::parse(body));
    ASSERT_FALSE(parsed) << body;
    EXPECT_EQ(parsed.error().pointer, pointer) << body << ": " << parsed.error().message;
  }
}

// What one container publishes is bounded: the firewall renders it at every reload, and a range
// on other container ports is one nft map element per port (an 8 MiB body of such ranges was
// gigabytes of script). Keys other than Kleene's four are not stored.
TEST(ContainerConfig, PublicPortsAreBounded) {
  const auto ports = [](std::size_t count, const json& entry) {
    return json{{"public_ports", json(std::vector<json>(count, entry))}};
  };
  const json single = {{"host_port", "80"}};
  ASSERT_TRUE(parse_config(ports(1024, single)));
  auto many = parse_config(ports(1025, single));
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().pointer, "/public_ports");
  EXPECT_EQ(many.error().message, "at most 1024 published ports, got 1025");

  std::vector<std::string> names;
  for (int i = 0; i < 257; ++i)
    names.push_back("kl" + std::to_string(i));
  auto wide = parse_config(ports(1, {{"host_port", "80"}, {"interfaces", names}}));
  ASSERT_FALSE(wide);
  EXPECT_EQ(wide.error().pointer, "/public_ports/0/interfaces");
  names.pop_back();
  EXPECT_TRUE(parse_config(ports(1, {{"host_port", "80"}, {"interfaces", names}})));

  // Remapped ranges: 65534 ports each, twice fits (131068), a third does not. The same range on
  // the same container ports renders no map and does not count.
  const json remapped = {{"host_port", "2:65535"}, {"container_port", "1:*"}};
  const json same = {{"host_port", "1:65535"}, {"container_port", "1:*"}};
  ASSERT_TRUE(parse_config(ports(2, remapped)));
  ASSERT_TRUE(parse_config(ports(1024, same)));
  auto remap = parse_config(ports(3, remapped));
  ASSERT_FALSE(remap);
  EXPECT_EQ(remap.error().pointer, "/public_ports/2/container_port");
  EXPECT_EQ(remap.error().message,
            "ranges published on other container ports cover more than 131072 ports in all");

  auto kept = parse_config(json::parse(
      R"({"public_ports": [{"host_port": "80", "container_port": "8080", "protocol": "udp",
                            "interfaces": ["eth0"], "junk": {"a": [1, 2, 3]}}]})"));
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_EQ(*kept->public_ports, json::parse(R"([{"host_port": "80", "container_port": "8080",
                                                 "protocol": "udp", "interfaces": ["eth0"]}])"));
}

TEST(ContainerName, KleeneRule) {
  EXPECT_EQ(check_name("web").value(), "web");
  EXPECT_EQ(check_name("/web-1.a_b").value(), "web-1.a_b");
  for (std::string bad : {"", "a", "-web", ".web", "we b", "web/x", "wé", "a;rm"}) {
    auto checked = check_name(bad);
    ASSERT_FALSE(checked) << bad;
    EXPECT_EQ(checked.error().code, EINVAL);
    EXPECT_NE(checked.error().message.find("does not match"), std::string::npos);
  }
  EXPECT_FALSE(check_name(std::string(65, 'a')));
  EXPECT_TRUE(check_name(std::string(64, 'a')));
  // A hostile length is a refusal, not a stack overflow (std::regex recursed per character;
  // found by tests/fuzz/crashes/container-name-regex-stack-overflow.json).
  EXPECT_FALSE(check_name(std::string(1'000'000, 'a')));
}

TEST(Mounts, NormaliseAbsolute) {
  EXPECT_EQ(normalise_absolute("/a/./b//c/"), "/a/b/c");
  EXPECT_EQ(normalise_absolute("/../../etc"), "/etc");
  EXPECT_EQ(normalise_absolute("/a/../.."), "/");
  EXPECT_FALSE(normalise_absolute("a/b"));
  EXPECT_FALSE(normalise_absolute(""));
}

TEST(Mounts, Checks) {
  std::vector<MountConfig> ok = {{"volume", "data", "/srv/../data/", false},
                                 {"nullfs", "/tmp", "/host", true}};
  ASSERT_TRUE(check_mounts(ok));
  EXPECT_EQ(ok[0].destination, "/data");

  auto fails = [](std::vector<MountConfig> mounts, std::string_view fragment) {
    auto checked = check_mounts(mounts);
    ASSERT_FALSE(checked);
    EXPECT_NE(checked.error().message.find(fragment), std::string::npos) << checked.error().message;
  };
  fails({{"volume", "data", "relative", false}}, "not an absolute path");
  fails({{"volume", "data", "/", false}}, "root");
  fails({{"volume", "../x", "/x", false}}, "invalid volume name");
  fails({{"nullfs", "relative/dir", "/x", false}}, "absolute host path");
  fails({{"nullfs", "/nonexistent-kleene-dir", "/x", false}}, "does not exist");
  fails({{"volume", "a", "/x", false}, {"volume", "b", "/x/", false}}, "duplicate");
}

TEST(Env, LaterWinsPerKey) {
  EXPECT_EQ(merge_env({"A=1", "B=2"}, {"B=3", "C=4"}),
            (std::vector<std::string>{"A=1", "B=3", "C=4"}));
  EXPECT_EQ(merge_env({"PATH=/bin"}, {"PATH=/usr/bin:/bin"}),
            (std::vector<std::string>{"PATH=/usr/bin:/bin"}));
  EXPECT_EQ(merge_env({}, {"A=x=y"}), (std::vector<std::string>{"A=x=y"}));
  EXPECT_EQ(merge_env(merge_env({"A=image"}, {"A=container"}), {"A=exec"}),
            (std::vector<std::string>{"A=exec"}));
  // Duplicates: the first of base is the one replaced; a name twice in `over` is added once.
  EXPECT_EQ(merge_env({"A=1", "A=2"}, {"A=3", "B=1", "B=2"}),
            (std::vector<std::string>{"A=3", "A=2", "B=2"}));
  // Linear: 200 000 names over 200 000 (quadratic before: 4e10 comparisons, minutes).
  std::vector<std::string> many;
  for (int i = 0; i < 200'000; ++i)
    many.push_back("V" + std::to_string(i) + "=x");
  EXPECT_EQ(merge_env(many, many).size(), 200'000u);
}

TEST(Precedence, User) {
  EXPECT_EQ(effective_user("exec", "cont", "jail", "image"), "exec");
  EXPECT_EQ(effective_user("", "cont", "jail", "image"), "cont");
  EXPECT_EQ(effective_user("", "", "jail", "image"), "jail");
  EXPECT_EQ(effective_user("", "", "", "image"), "image");
  EXPECT_EQ(effective_user("", "", "", ""), "");
}

TEST(Precedence, Cmd) {
  using V = std::vector<std::string>;
  EXPECT_EQ(effective_cmd(V{"e"}, V{"c"}, V{"i"}), V{"e"});
  EXPECT_EQ(effective_cmd(V{}, V{"c"}, V{"i"}), V{"c"});
  EXPECT_EQ(effective_cmd(V{}, V{}, V{"i"}), V{"i"});
}

TEST(NetworkDriver, KnownNamesAliasesAndPlugins) {
  EXPECT_EQ(check_network_driver("host", {}).value(), "host");
  EXPECT_EQ(check_network_driver("disabled", {}).value(), "disabled");
  EXPECT_EQ(check_network_driver("loopback", {}).value(), "ipnet");
  EXPECT_EQ(check_network_driver("bridge2", {"bridge2"}).value(), "bridge2");
  auto unknown = check_network_driver("nope", {"bridge2"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, EINVAL);
  EXPECT_NE(unknown.error().message.find("bridge2"), std::string::npos);
}

TEST(ExecConfig, Parse) {
  auto config = parse_exec_config(
      json::parse(R"({"container_id": "c1", "cmd": ["ls"], "env": ["A=1"], "tty": true})"));
  ASSERT_TRUE(config);
  EXPECT_EQ(config->container_id, "c1");
  EXPECT_TRUE(config->tty);
  EXPECT_FALSE(parse_exec_config(json::parse(R"({"cmd": ["ls"]})")));
  EXPECT_FALSE(parse_exec_config(json::parse(R"({"container_id": "c", "tty": "yes"})")));
  EXPECT_FALSE(parse_exec_config(json::parse(R"({"container_id": "c", "cmd": [1]})")));
}

TEST(ExecRegistry, ClaimOnceReleaseForget) {
  ExecRegistry registry;
  EXPECT_EQ(registry.claim("nope").error().code, ENOENT);
  EXPECT_EQ(registry.claim("nope").error().message,
            "could not find a execution instance matching 'nope'");
}

}  // namespace
}  // namespace kleene::container
