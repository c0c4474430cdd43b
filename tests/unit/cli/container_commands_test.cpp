// klee's container and exec commands against the in-test kleened stand-in: every command's
// options, the requests they send, Kleene's output lines and exit codes.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "app.hpp"
#include "commands/container_common.hpp"
#include "output/table.hpp"
#include "test_server.hpp"
#include "test_support.hpp"

namespace klee {
namespace {

using nlohmann::json;
using test::TempDir;
using test::TestServer;

struct Run {
  int code;
  std::string out, err;
};

Run klee(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  const int code = run_klee(args, test::fake_env({{"HOME", "/nonexistent-kleene-home"}}), out, err);
  return {code, out.str(), err.str()};
}

// klee --host <server> --theme simple ARGS...
Run klee_at(const TestServer& server, std::vector<std::string> args) {
  args.insert(args.begin(), {"--host", server.url(), "--theme", "simple"});
  return klee(args);
}

TEST(ContainerCommands, CreateSendsKleenesContainerConfig) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"container",   "create",
                             "--name",      "web",
                             "-u",          "nobody",
                             "-e",          "A=1",
                             "--env",       "B=two words",
                             "-m",          "data:/data:ro",
                             "-m",          "/srv:/srv",
                             "-J",          "allow.raw_sockets",
                             "-J",          "exec.clean=false",
                             "-P",          "--restart",
                             "on-startup",  "-l",
                             "vnet",        "-p",
                             "8080:80/udp", "busybox:latest",
                             "/bin/sh",     "-c",
                             "echo -n hi"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "c0ffee000001\n");
  const auto sent = json::parse(server->last().body);
  EXPECT_EQ(server->last().target, "/containers/create");
  EXPECT_EQ(sent["name"], "web");
  EXPECT_EQ(sent["image"], "busybox:latest");
  EXPECT_EQ(sent["cmd"], (json{"/bin/sh", "-c", "echo -n hi"}));
  EXPECT_EQ(sent["user"], "nobody");
  EXPECT_EQ(sent["env"], (json{"A=1", "B=two words"}));
  EXPECT_EQ(sent["mounts"].size(), 2u);
  EXPECT_EQ(sent["mounts"][0]["read_only"], true);
  EXPECT_EQ(sent["mounts"][1]["type"], "nullfs");
  EXPECT_EQ(sent["jail_param"], (json{"allow.raw_sockets", "exec.clean=false"}));
  EXPECT_EQ(sent["persist"], true);
  EXPECT_EQ(sent["restart_policy"], "on-startup");
  EXPECT_EQ(sent["network_driver"], "vnet");
  EXPECT_EQ(sent["public_ports"][0]["protocol"], "udp");
}

TEST(ContainerCommands, CreateDefaultsAndShortcut) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"create", "busybox"});
  ASSERT_EQ(r.code, 0) << r.err;
  const auto sent = json::parse(server->last().body);
  EXPECT_EQ(sent["cmd"], json::array());
  EXPECT_EQ(sent["network_driver"], "host");  // no network, no driver
  EXPECT_EQ(sent["restart_policy"], "no");
  EXPECT_EQ(sent["persist"], false);
  EXPECT_FALSE(sent["name"].get<std::string>().empty());  // klee picks a name, as Kleene's
  EXPECT_NE(sent["name"].get<std::string>().find('_'), std::string::npos);
}

TEST(ContainerCommands, ATakenRandomNameIsReplacedAGivenOneIsNot) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"create", "taken"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "c0ffee000001\n");
  // Two random names were refused, the third try carries a number.
  EXPECT_EQ(std::ranges::count(server->last().targets, "/containers/create"), 3);
  EXPECT_NE(json::parse(server->last().body)["name"].get<std::string>().find_first_of("0123456789"),
            std::string::npos);

  auto given = klee_at(*server, {"create", "--name", "mine", "taken"});
  EXPECT_EQ(given.code, 1);
  EXPECT_EQ(given.err, "could not create container: container name 'mine' is already in use\n");
}

TEST(ContainerCommands, NetworkOptions) {
  auto server = TestServer::on_tcp();
  auto host = klee_at(*server, {"create", "--network", "host", "busybox"});
  ASSERT_EQ(host.code, 0) << host.err;
  EXPECT_EQ(json::parse(server->last().body)["network_driver"], "host");
  EXPECT_EQ(server->last().target, "/containers/create");  // no connect for host

  auto spelled = klee_at(*server, {"create", "--network-driver", "disabled", "busybox"});
  ASSERT_EQ(spelled.code, 0) << spelled.err;
  EXPECT_EQ(json::parse(server->last().body)["network_driver"], "disabled");

  auto net = klee_at(*server, {"create", "-n", "testnet", "--ip", "10.13.37.5", "busybox"});
  ASSERT_EQ(net.code, 0) << net.err;
  auto targets = server->last().targets;
  ASSERT_GE(targets.size(), 2u);
  EXPECT_EQ(targets[targets.size() - 2], "/containers/create");
  EXPECT_EQ(server->last().target, "/networks/connect");
  EXPECT_EQ(
      json::parse(server->last().body),
      (json{{"container", "c0ffee000001"}, {"network", "testnet"}, {"ip_address", "10.13.37.5"}}));

  auto clash = klee_at(*server, {"create", "--network", "host", "-l", "vnet", "busybox"});
  EXPECT_EQ(clash.code, 2);
}

TEST(ContainerCommands, UsageErrors) {
  auto server = TestServer::on_tcp();
  auto bad_mount = klee_at(*server, {"run", "-m", "nocolon", "busybox"});
  EXPECT_EQ(bad_mount.code, 125);
  EXPECT_EQ(bad_mount.err,
            "invalid mount format 'nocolon'. Must have at least 2 elements seperated by ':'.\n");
  EXPECT_EQ(bad_mount.out, "");
  auto bad_port = klee_at(*server, {"create", "-p", "1:2:3:4", "busybox"});
  EXPECT_EQ(bad_port.code, 1);
  EXPECT_EQ(bad_port.err, "could not decode port to publish: 1:2:3:4\n");
  auto restart = klee_at(*server, {"create", "--restart", "always", "busybox"});
  EXPECT_EQ(restart.code, 2);
  auto unknown = klee_at(*server, {"run", "--frob", "busybox"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("Error: No such option: --frob"), std::string::npos);
  auto no_image = klee_at(*server, {"container", "run"});
  EXPECT_EQ(no_image.code, 2);
  EXPECT_NE(no_image.err.find("Missing argument 'IMAGE'."), std::string::npos);
  auto no_containers = klee_at(*server, {"stop"});
  EXPECT_EQ(no_containers.code, 2);
  auto rename = klee_at(*server, {"container", "rename", "a"});
  EXPECT_EQ(rename.code, 2);
  auto attach_many = klee_at(*server, {"start", "a", "b"});
  EXPECT_EQ(attach_many.code, 1);
  EXPECT_EQ(attach_many.err,
            "only one container can be started when attaching to container I/O.\n");
  auto missing_image = klee_at(*server, {"create", "nothere"});
  EXPECT_EQ(missing_image.code, 1);
  EXPECT_EQ(missing_image.err, "could not create container: no such image 'nothere'\n");
}

// The bug split_options had: a short option's value was taken for the first positional.
TEST(ContainerCommands, ShortOptionValuesAreNotTheImage) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server,
                   {"run", "-d",   "-e", "A=1",  "-m", "v:/x", "-u",      "root", "-J", "persist",
                    "-l",  "host", "-n", "host", "-p", "80",   "busybox", "sh",   "-c", "exit 3"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto targets = server->last().targets;
  auto created = std::ranges::find(targets, "/containers/create");
  ASSERT_NE(created, targets.end());
  // `-ePATH=x` carries its value; `-dit`-style clusters hold flags only.
  auto glued = klee_at(*server, {"create", "-eA=1", "-mv:/x", "busybox", "-c", "x"});
  ASSERT_EQ(glued.code, 0) << glued.err;
  const auto sent = json::parse(server->last().body);
  EXPECT_EQ(sent["image"], "busybox");
  EXPECT_EQ(sent["env"], (json{"A=1"}));
  EXPECT_EQ(sent["cmd"], (json{"-c", "x"}));  // options end at the image
  auto cluster = klee_at(*server, {"create", "-Pm", "v:/x", "busybox"});
  ASSERT_EQ(cluster.code, 0) << cluster.err;
  EXPECT_EQ(json::parse(server->last().body)["mounts"][0]["source"], "v");
  EXPECT_EQ(json::parse(server->last().body)["persist"], true);
  auto exec = klee_at(*server, {"exec", "-dt", "-u", "nobody", "c0ffee000001", "ls", "-l"});
  ASSERT_EQ(exec.code, 0) << exec.err;
  // Root options before the command keep working with a command's short options after it.
  auto root = klee({"--host", server->url(), "exec", "-d", "-e", "X=1", "web", "/bin/ls"});
  ASSERT_EQ(root.code, 0) << root.err;
}

// Click lets Kleene's klee take options after IMAGE (its docs: `klee run IMAGE --network host
// /sbin/ping ...`); the command's own options after its first word stay the command's.
TEST(ContainerCommands, OptionsAfterTheImageUntilTheCommand) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"create", "busybox", "-J", "mount.devfs", "-J", "allow.raw_sockets",
                             "--network", "host", "/bin/ping", "-c", "1", "-l", "x"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto sent = json::parse(server->last().body);
  EXPECT_EQ(sent["image"], "busybox");
  EXPECT_EQ(sent["jail_param"], (json{"mount.devfs", "allow.raw_sockets"}));
  EXPECT_EQ(sent["network_driver"], "host");
  EXPECT_EQ(sent["cmd"], (json{"/bin/ping", "-c", "1", "-l", "x"}));
  auto dashes = klee_at(*server, {"create", "busybox", "--", "--name", "x"});
  ASSERT_EQ(dashes.code, 0) << dashes.err;
  sent = json::parse(server->last().body);
  EXPECT_EQ(sent["cmd"], (json{"--name", "x"}));
  auto exec = klee_at(*server, {"exec", "web", "-d", "ls", "-d"});
  ASSERT_EQ(exec.code, 0) << exec.err;
  EXPECT_EQ(exec.out, "created execution instance e0000000001\n");  // detached
  auto missing = klee_at(*server, {"run", "busybox", "--network"});
  EXPECT_EQ(missing.code, 2);
}

// What klee prints of the test server's attached /exec/start session.
const std::string kAttachedExecOutput =
    "created execution instance e0000000001\nhello\n\n"
    "executable e0000000001 and its container exited with exit-code 3\n";

TEST(ContainerCommands, RunAttachedPrintsKleenesLinesAndExitsWithTheProcessCode) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"run", "busybox", "/bin/sh"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_EQ(r.out, "c0ffee000001\n" + kAttachedExecOutput);
  EXPECT_EQ(json::parse(server->last().ws_config),
            (json{{"exec_id", "e0000000001"}, {"attach", true}, {"start_container", true}}));
  // Without -i the process gets end of input at once.
  EXPECT_EQ(server->last().ws_frames, (std::vector<std::string>{std::string(1, '\x02')}));
}

// run connects once: the container create, the exec create and the start's upgrade share the
// connection; exec and run -d too.
TEST(ContainerCommands, RunAndExecConnectOnce) {
  const std::vector<std::string> run_targets{"/containers/create", "/exec/create", "/exec/start"};
  for (const auto& args : {std::vector<std::string>{"run", "busybox", "/bin/sh"},
                           std::vector<std::string>{"run", "-d", "busybox", "/bin/sh"}}) {
    auto server = TestServer::on_tcp();
    auto r = klee_at(*server, args);
    EXPECT_EQ(r.code, args[1] == "-d" ? 0 : 3) << r.err;
    EXPECT_EQ(server->last().connections, 1) << args[1];
    EXPECT_EQ(server->last().targets, run_targets) << args[1];
  }
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"exec", "web", "/bin/sh"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_EQ(server->last().connections, 1);
  EXPECT_EQ(server->last().targets, (std::vector<std::string>{"/exec/create", "/exec/start"}));
}

// A server that closes the connection after the exec create ("Connection: close"; kleened does
// while it stops) gets the start on a new one.
TEST(ContainerCommands, AServerThatClosesAfterTheExecCreateGetsTheStartOnANewConnection) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"exec", "closing", "/bin/sh"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_EQ(r.out, kAttachedExecOutput);
  EXPECT_EQ(server->last().connections, 2);
}

TEST(ContainerCommands, RunDetached) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"run", "-d", "busybox", "/bin/sh"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "c0ffee000001\ncreated execution instance e0000000001\n");
  EXPECT_EQ(json::parse(server->last().ws_config)["attach"], false);
  auto exec_config = klee_at(*server, {"start", "-d", "web", "old"});
  EXPECT_EQ(exec_config.code, 0) << exec_config.err;
  EXPECT_EQ(exec_config.out,
            "created execution instance e0000000001\ncreated execution instance e0000000001\n");
}

TEST(ContainerCommands, ExecCreateSendsExecConfig) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"container", "exec", "-d", "-t", "-e", "X=1", "-u", "nobody", "web",
                             "/bin/sh", "-c", "ls -l"});
  ASSERT_EQ(r.code, 0) << r.err;
  auto targets = server->last().targets;
  ASSERT_GE(targets.size(), 2u);
  EXPECT_EQ(targets[targets.size() - 2], "/exec/create");
  auto missing = klee_at(*server, {"exec", "nothere", "/bin/true"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_EQ(missing.err, "no such container\n");
}

TEST(ContainerCommands, ListTable) {
  auto server = TestServer::on_tcp();
  auto r = klee_at(*server, {"lsc", "-a"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(server->last().target, "/containers/list?all=true");
  std::istringstream lines(r.out);
  std::string header, rule, first, second;
  std::getline(lines, header);
  std::getline(lines, rule);
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_TRUE(header.starts_with(" CONTAINER ID  | NAME | IMAGE          | COMMAND")) << r.out;
  EXPECT_NE(header.find("| AUTORUN | STATUS  | JID"), std::string::npos) << r.out;
  EXPECT_TRUE(first.starts_with(" c0ffee000001  | web  | busybox:latest | /bin/sh -c sleep 1000"))
      << r.out;
  EXPECT_NE(first.find("|   yes   | running | 4242"), std::string::npos) << r.out;
  EXPECT_NE(second.find("|   no    | stopped |"), std::string::npos) << r.out;
  ASSERT_EQ(klee_at(*server, {"container", "ls"}).code, 0);
  EXPECT_EQ(server->last().target, "/containers/list?all=false");
}

TEST(ContainerCommands, StopRemoveInspectPruneRenameUpdate) {
  auto server = TestServer::on_tcp();
  auto stop = klee_at(*server, {"stop", "web", "old"});
  EXPECT_EQ(stop.code, 0) << stop.err;
  EXPECT_EQ(stop.out, "web\nold\n");
  auto rm = klee_at(*server, {"rmc", "web", "nothere", "old"});
  EXPECT_EQ(rm.code, 1);
  EXPECT_EQ(rm.out, "web\n");  // the first failure ends the command
  EXPECT_EQ(rm.err, "no such container\n");
  auto force = klee_at(*server, {"container", "rm", "-f", "web"});
  EXPECT_EQ(force.code, 0) << force.err;
  EXPECT_EQ(force.out, "web\n");
  auto targets = server->last().targets;
  EXPECT_EQ(targets[targets.size() - 2], "/containers/web/stop");  // stopped first
  EXPECT_EQ(server->last().method, "DELETE");

  auto inspect = klee_at(*server, {"isc", "web"});
  EXPECT_EQ(inspect.code, 0) << inspect.err;
  EXPECT_EQ(server->last().target, "/containers/web/inspect");

  auto prune = klee_at(*server, {"container", "prune", "-f"});
  EXPECT_EQ(prune.code, 0) << prune.err;
  EXPECT_EQ(prune.out, "c0ffee000002\n");

  auto rename = klee_at(*server, {"container", "rename", "web", "site"});
  EXPECT_EQ(rename.code, 0) << rename.err;
  EXPECT_EQ(server->last().target, "/containers/web/update");
  EXPECT_EQ(json::parse(server->last().body), (json{{"name", "site"}}));

  // Update sends only what is given.
  auto update = klee_at(*server, {"container", "update", "-J", "allow.raw_sockets", "--restart",
                                  "on-startup", "web", "/bin/sh", "-c", "x"});
  EXPECT_EQ(update.code, 0) << update.err;
  EXPECT_EQ(json::parse(server->last().body), (json{{"jail_param", {"allow.raw_sockets"}},
                                                    {"restart_policy", "on-startup"},
                                                    {"cmd", {"/bin/sh", "-c", "x"}}}));
  auto user_only = klee_at(*server, {"container", "update", "-u", "nobody", "web"});
  EXPECT_EQ(user_only.code, 0) << user_only.err;
  EXPECT_EQ(json::parse(server->last().body), (json{{"user", "nobody"}}));

  auto restart = klee_at(*server, {"restart", "web"});
  EXPECT_EQ(restart.code, 0) << restart.err;
  EXPECT_EQ(restart.out, "web\ncreated execution instance e0000000001\n");
}

TEST(ContainerCommands, HelpListsKleenesFlags) {
  auto r = klee({"container", "run", "--help"});
  ASSERT_EQ(r.code, 0);
  for (auto flag : {"--name", "--user", "--env", "--mount", "--jailparam", "--persist", "--restart",
                    "--driver", "--network-driver", "--network", "--ip ", "--ip6", "--publish",
                    "--detach", "--interactive", "--tty"}) {
    EXPECT_NE(r.out.find(flag), std::string::npos) << flag;
  }
  auto root = klee({"--help"});
  for (auto shortcut : {"create", "run", "start", "stop", "restart", "rmc", "lsc", "isc", "exec"}) {
    EXPECT_NE(root.out.find("  " + std::string(shortcut) + " "), std::string::npos) << shortcut;
  }
}

}  // namespace
}  // namespace klee
