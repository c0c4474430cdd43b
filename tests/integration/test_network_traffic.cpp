// Traffic of containers on networks, end to end: a real kleened (inside a network namespace of
// the test, see network_fixture.hpp), the net-loopback (ipnet) and net-vnet driver plugins,
// the firewall kleened renders, and busybox in the containers. Kleene's network scenarios on
// Linux: TCP inside a network by address and by name (/etc/hosts), connect/disconnect while
// running, isolation between networks, icc false, internal, NAT seen from the outside,
// published tcp/udp ports and ranges, address exhaustion and the driver matrix, a daemon
// restart that keeps containers connected, and a stop that takes the veth and route away.
//
// Expected failures (a connection that must not get through) are bounded by `nc -w 1` or a
// short accept; every success is synchronised on an exit, a ready socket or a listening port.
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <sstream>

#include "network_fixture.hpp"

namespace kleene::it {
namespace {

using namespace std::chrono_literals;

// Whether an /etc/hosts text has a line for `address` that lists `name`.
bool hosts_has(const std::string& hosts, const std::string& address, const std::string& name) {
  std::istringstream in(hosts);
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string first;
    if (!(fields >> first) || first != address) continue;
    for (std::string n; fields >> n;) {
      if (n == name) return true;
    }
  }
  return false;
}

class NetworkTrafficTest : public NetworkFixture {
 protected:
  // `nc -l -p PORT` in `server`; `echo MSG | nc TARGET PORT` from `client`: the message arrives.
  void expect_talk(const std::string& server, const std::string& client, const std::string& target,
                   int port = 4000) {
    const std::string message = "hello-" + target;
    auto listener = begin(server, {"/bin/sh", "-c", "exec nc -l -p " + std::to_string(port)});
    ASSERT_TRUE(wait_listening(server, port));
    auto sent = sh(client, "echo " + message + " | nc " + target + " " + std::to_string(port));
    if (exit_code_of(sent) != 0) {
      (void)kill(listener);
      FAIL() << client << " could not send to " << target << ":" << port << ": " << sent.output()
             << " / " << sent.close_reason;
    }
    auto got = listener.ws->finish();
    EXPECT_EQ(output_of(got), message + "\n") << got.close_reason;
  }

  // As expect_talk, but the client's connection must fail (within nc's 1 s connect timeout).
  // Then the test itself sends from the daemon namespace (kleened's host), which must arrive:
  // the listener was there all along and got nothing from the client.
  void expect_no_talk(const std::string& server, const std::string& server_ip,
                      const std::string& client, int port = 4000) {
    auto listener = begin(server, {"/bin/sh", "-c", "exec nc -l -p " + std::to_string(port)});
    ASSERT_TRUE(wait_listening(server, port));
    auto sent = sh(client, "echo intruder | nc -w 1 " + server_ip + " " + std::to_string(port));
    EXPECT_NE(exit_code_of(sent), 0)
        << client << " reached " << server_ip << ":" << port << ": " << sent.output();
    auto control =
        tcp_exchange(daemon_ns_->fd(), server_ip, static_cast<uint16_t>(port), "control\n", 10s);
    if (!control) {
      (void)kill(listener);
      FAIL() << "the daemon namespace could not reach " << server_ip << ":" << port;
    }
    auto got = listener.ws->finish();
    EXPECT_EQ(output_of(got), "control\n") << got.close_reason;
  }

  // The links of the daemon namespace kleene made for containers ("<index>:<name>"), i.e. all
  // but lo, the uplink and bridges of networks.
  std::set<std::string> container_links(const std::set<std::string>& except = {}) const {
    std::set<std::string> out;
    for (const auto& line : daemon_ns_->ip_lines({"-o", "link", "show"})) {
      auto colon = line.find(": ");
      if (colon == std::string::npos) continue;
      std::string name = line.substr(colon + 2, line.find(':', colon + 2) - colon - 2);
      name = name.substr(0, name.find('@'));
      if (name == "lo" || name == kUplink || except.contains(name)) continue;
      out.insert(line.substr(0, colon) + ":" + name);
    }
    return out;
  }

  // Routes of the daemon namespace to `address` (host routes of ipnet endpoints).
  std::vector<std::string> routes_to(const std::string& address) const {
    std::vector<std::string> out;
    for (const auto& line : daemon_ns_->ip_lines({"-4", "route", "show"})) {
      if (line.starts_with(address + " ")) out.push_back(line);
    }
    return out;
  }

  std::string bridge_of(const std::string& network) {
    return body_of(api("GET", "/networks/" + network + "/inspect"))["network"].value("interface",
                                                                                     "");
  }

  void connect_disconnect_running(const json& network_config, const std::string& driver,
                                  const std::string& ip) {
    const std::string net = create_network(network_config);
    ASSERT_FALSE(net.empty());
    const std::string id = create_container("klrunning", {{"network_driver", driver}});
    ASSERT_FALSE(id.empty());
    ASSERT_TRUE(start(id));
    auto before = sh(id, "cat /proc/net/dev");
    EXPECT_FALSE(contains(before.output(), "eth0")) << before.output();

    auto connected = connect(id, net, ip);
    ASSERT_EQ(connected.status, 204) << connected.body;
    auto addr = sh(id, "ip -o -4 addr show dev eth0");
    EXPECT_EQ(exit_code_of(addr), 0) << addr.output() << addr.close_reason;
    EXPECT_TRUE(contains(addr.output(), "inet " + ip + "/")) << addr.output();
    EXPECT_EQ(address_of(id, net), ip) << inspect_container(id).dump();
    // It is reachable from kleened's host on that address.
    auto listener = begin(id, {"/bin/sh", "-c", "exec nc -l -p 4000"});
    ASSERT_TRUE(wait_listening(id, 4000));
    auto sent = tcp_exchange(daemon_ns_->fd(), ip, 4000, "attached\n", 10s);
    if (!sent) (void)kill(listener);
    ASSERT_TRUE(sent) << "could not reach " << ip;
    EXPECT_EQ(output_of(listener.ws->finish()), "attached\n");

    auto disconnected = disconnect(id, net);
    ASSERT_EQ(disconnected.status, 204) << disconnected.body;
    auto after = sh(id, "cat /proc/net/dev");
    EXPECT_EQ(exit_code_of(after), 0) << after.close_reason;
    EXPECT_FALSE(contains(after.output(), "eth0")) << after.output();
    EXPECT_TRUE(inspect_container(id)["container_endpoints"].empty());
    const std::string bridge = bridge_of(net);
    EXPECT_TRUE(container_links({bridge}).empty());
    EXPECT_TRUE(routes_to(ip).empty());
  }
};

// The harness itself: kleened and its containers live in the daemon namespace; a bridge
// network's bridge and kleene's nftables table are made there, never on the host.
TEST_F(NetworkTrafficTest, KleenedRunsInTheDaemonNamespace) {
  struct stat own {
  }, ns{}, daemons{};
  ASSERT_EQ(::stat("/proc/self/ns/net", &own), 0);
  ASSERT_EQ(::fstat(daemon_ns_->fd(), &ns), 0);
  ASSERT_EQ(::stat(("/proc/" + std::to_string(daemon.pid()) + "/ns/net").c_str(), &daemons), 0);
  EXPECT_EQ(daemons.st_ino, ns.st_ino);
  EXPECT_NE(daemons.st_ino, own.st_ino);

  const std::string net = create_network({{"name", "klbridge"},
                                          {"type", "bridge"},
                                          {"subnet", "10.13.20.0/24"},
                                          {"gateway", "<auto>"}});
  ASSERT_FALSE(net.empty());
  const std::string bridge = bridge_of(net);
  ASSERT_FALSE(bridge.empty());
  EXPECT_TRUE(daemon_ns_->ip({"-o", "addr", "show", "dev", bridge}));
  EXPECT_TRUE(contains(daemon_ns_->run({"ip", "-o", "addr", "show", "dev", bridge}).out,
                       "inet 10.13.20.1/24"));
  auto table = daemon_ns_->run({"nft", "list", "table", "inet", "kleene"});
  EXPECT_EQ(table.exit_code, 0) << describe(table);
  // The NAT interface <host-gateway> is the daemon's uplink.
  EXPECT_TRUE(contains(table.out, kUplink)) << table.out;
  auto host_link = run_command({find_program("ip"), "-o", "link", "show", "dev", bridge},
                               test_environment(), 10s);
  EXPECT_NE(host_link.exit_code, 0) << "the bridge is on the host: " << host_link.out;

  // A container of the host driver shares kleened's namespace: it sees the uplink.
  const std::string id = create_container("klhostnet", {{"network_driver", "host"}});
  ASSERT_FALSE(id.empty());
  auto links =
      WsClient::run(daemon.socket_path(), "/exec/start",
                    json{{"exec_id", exec_create(id, {{"cmd", {"/bin/sh", "-c", "ip -o link"}}})},
                         {"attach", true},
                         {"start_container", true}}
                        .dump());
  EXPECT_TRUE(contains(links.output(), kUplink)) << links.output() << links.close_reason;

  EXPECT_EQ(api("DELETE", "/networks/" + net).status, 200);
  EXPECT_NE(daemon_ns_->run({"ip", "link", "show", "dev", bridge}).exit_code, 0);
}

TEST_F(NetworkTrafficTest, IpnetContainersTalkByAddressAndName) {
  const std::string net =
      create_network({{"name", "klloop"}, {"type", "loopback"}, {"subnet", "10.13.0.0/24"}});
  ASSERT_FALSE(net.empty());
  const std::string server = run_on("klserver", net, {{"network_driver", "ipnet"}}, "10.13.0.2");
  const std::string client = run_on("klclient", net, {{"network_driver", "ipnet"}}, "10.13.0.3");
  ASSERT_FALSE(server.empty());
  ASSERT_FALSE(client.empty());

  // ipnet: a /32 on eth0, the default route via the host side's 169.254.1.1.
  auto addr = sh(server, "ip -o -4 addr show dev eth0; ip route");
  EXPECT_TRUE(contains(addr.output(), "inet 10.13.0.2/32")) << addr.output();
  EXPECT_TRUE(contains(addr.output(), "default via 169.254.1.1")) << addr.output();

  ASSERT_NO_FATAL_FAILURE(expect_talk(server, client, "10.13.0.2"));

  auto hosts = sh(client, "cat /etc/hosts");
  EXPECT_TRUE(hosts_has(hosts.output(), "10.13.0.3", "klclient")) << hosts.output();
  EXPECT_TRUE(hosts_has(hosts.output(), "10.13.0.2", "klserver")) << hosts.output();
  auto server_hosts = sh(server, "cat /etc/hosts");
  EXPECT_TRUE(hosts_has(server_hosts.output(), "10.13.0.2", "klserver")) << server_hosts.output();
  EXPECT_TRUE(hosts_has(server_hosts.output(), "10.13.0.3", "klclient")) << server_hosts.output();
  ASSERT_NO_FATAL_FAILURE(expect_talk(server, client, "klserver"));
}

TEST_F(NetworkTrafficTest, VnetContainersTalkByAddressAndName) {
  const std::string net = create_network(
      {{"name", "klbr"}, {"type", "bridge"}, {"subnet", "10.13.1.0/24"}, {"gateway", "<auto>"}});
  ASSERT_FALSE(net.empty());
  const std::string server = run_on("klvserver", net, {{"network_driver", "vnet"}}, "10.13.1.2");
  const std::string client = run_on("klvclient", net, {{"network_driver", "vnet"}}, "<auto>");
  ASSERT_FALSE(server.empty());
  ASSERT_FALSE(client.empty());
  // <auto> skips the gateway (.1) and the address in use (.2).
  EXPECT_EQ(address_of(client, net), "10.13.1.3") << inspect_container(client).dump();

  // vnet: address/prefix on eth0, default route via the gateway.
  auto addr = sh(server, "ip -o -4 addr show dev eth0; ip route");
  EXPECT_TRUE(contains(addr.output(), "inet 10.13.1.2/24")) << addr.output();
  EXPECT_TRUE(contains(addr.output(), "default via 10.13.1.1")) << addr.output();

  ASSERT_NO_FATAL_FAILURE(expect_talk(server, client, "10.13.1.2"));
  auto hosts = sh(client, "cat /etc/hosts");
  EXPECT_TRUE(hosts_has(hosts.output(), "10.13.1.3", "klvclient")) << hosts.output();
  EXPECT_TRUE(hosts_has(hosts.output(), "10.13.1.2", "klvserver")) << hosts.output();
  ASSERT_NO_FATAL_FAILURE(expect_talk(server, client, "klvserver"));
}

TEST_F(NetworkTrafficTest, ConnectAndDisconnectRunningIpnetContainer) {
  connect_disconnect_running({{"name", "klloop"}, {"type", "loopback"}, {"subnet", "10.13.2.0/24"}},
                             "ipnet", "10.13.2.7");
}

TEST_F(NetworkTrafficTest, ConnectAndDisconnectRunningVnetContainer) {
  connect_disconnect_running(
      {{"name", "klbr"}, {"type", "bridge"}, {"subnet", "10.13.3.0/24"}, {"gateway", "<auto>"}},
      "vnet", "10.13.3.7");
}

// Connecting a running container updates the /etc/hosts of the containers already there.
TEST_F(NetworkTrafficTest, HostsFilesFollowConnectAndDisconnect) {
  const std::string net =
      create_network({{"name", "klloop"}, {"type", "loopback"}, {"subnet", "10.13.4.0/24"}});
  ASSERT_FALSE(net.empty());
  const std::string first = run_on("klfirst", net, {}, "10.13.4.2");
  ASSERT_FALSE(first.empty());
  const std::string late = create_container("kllate");
  ASSERT_TRUE(start(late));
  ASSERT_EQ(connect(late, net, "10.13.4.3").status, 204);
  EXPECT_TRUE(hosts_has(sh(first, "cat /etc/hosts").output(), "10.13.4.3", "kllate"));
  EXPECT_TRUE(hosts_has(sh(late, "cat /etc/hosts").output(), "10.13.4.2", "klfirst"));
  ASSERT_EQ(disconnect(late, net).status, 204);
  EXPECT_FALSE(hosts_has(sh(first, "cat /etc/hosts").output(), "10.13.4.3", "kllate"));
}

TEST_F(NetworkTrafficTest, NoConnectivityAcrossNetworks) {
  const std::string one =
      create_network({{"name", "klone"}, {"type", "loopback"}, {"subnet", "10.13.5.0/24"}});
  const std::string two =
      create_network({{"name", "kltwo"}, {"type", "loopback"}, {"subnet", "10.13.6.0/24"}});
  const std::string br1 = create_network(
      {{"name", "klbr1"}, {"type", "bridge"}, {"subnet", "10.13.7.0/24"}, {"gateway", "<auto>"}});
  const std::string br2 = create_network(
      {{"name", "klbr2"}, {"type", "bridge"}, {"subnet", "10.13.8.0/24"}, {"gateway", "<auto>"}});
  ASSERT_FALSE(one.empty() || two.empty() || br1.empty() || br2.empty());

  const std::string a = run_on("kla", one, {}, "10.13.5.2");
  const std::string b = run_on("klb", two, {}, "10.13.6.2");
  ASSERT_FALSE(a.empty() || b.empty());
  ASSERT_NO_FATAL_FAILURE(expect_no_talk(a, "10.13.5.2", b));
  // Nor does a name of the other network resolve.
  EXPECT_FALSE(hosts_has(sh(b, "cat /etc/hosts").output(), "10.13.5.2", "kla"));

  const std::string c = run_on("klc", br1, {{"network_driver", "vnet"}}, "10.13.7.2");
  const std::string d = run_on("kld", br2, {{"network_driver", "vnet"}}, "10.13.8.2");
  ASSERT_FALSE(c.empty() || d.empty());
  ASSERT_NO_FATAL_FAILURE(expect_no_talk(c, "10.13.7.2", d));
  // ipnet to vnet across networks neither.
  ASSERT_NO_FATAL_FAILURE(expect_no_talk(c, "10.13.7.2", a));
}

TEST_F(NetworkTrafficTest, IccFalseSeparatesContainersOfOneNetwork) {
  const std::string br = create_network({{"name", "klnoicc"},
                                         {"type", "bridge"},
                                         {"subnet", "10.13.9.0/24"},
                                         {"gateway", "<auto>"},
                                         {"icc", false}});
  const std::string lo = create_network(
      {{"name", "klnoicclo"}, {"type", "loopback"}, {"subnet", "10.13.10.0/24"}, {"icc", false}});
  ASSERT_FALSE(br.empty() || lo.empty());
  const std::string a = run_on("kla", br, {{"network_driver", "vnet"}}, "10.13.9.2");
  const std::string b = run_on("klb", br, {{"network_driver", "vnet"}}, "10.13.9.3");
  ASSERT_FALSE(a.empty() || b.empty());
  ASSERT_NO_FATAL_FAILURE(expect_no_talk(a, "10.13.9.2", b));

  const std::string c = run_on("klc", lo, {}, "10.13.10.2");
  const std::string d = run_on("kld", lo, {}, "10.13.10.3");
  ASSERT_FALSE(c.empty() || d.empty());
  ASSERT_NO_FATAL_FAILURE(expect_no_talk(c, "10.13.10.2", d));
}

TEST_F(NetworkTrafficTest, InternalNetworkDoesNotReachTheOutside) {
  TcpListener outside(outside_ns_->fd(), kOutsideAddress, 4100);
  ASSERT_TRUE(outside.ok());
  const std::string br = create_network({{"name", "klinternal"},
                                         {"type", "bridge"},
                                         {"subnet", "10.13.11.0/24"},
                                         {"gateway", "<auto>"},
                                         {"internal", true}});
  const std::string lo = create_network({{"name", "klinternallo"},
                                         {"type", "loopback"},
                                         {"subnet", "10.13.12.0/24"},
                                         {"internal", true}});
  ASSERT_FALSE(br.empty() || lo.empty());
  // The outside knows the way back (internal networks get no NAT): only kleene's rules can
  // stop the connections below.
  ASSERT_TRUE(outside_ns_->add_route("10.13.11.0/24", kDaemonAddress));
  ASSERT_TRUE(outside_ns_->add_route("10.13.12.0/24", kDaemonAddress));
  const std::string a = run_on("kla", br, {{"network_driver", "vnet"}}, "10.13.11.2");
  const std::string b = run_on("klb", lo, {}, "10.13.12.2");
  ASSERT_FALSE(a.empty() || b.empty());
  for (const auto& id : {a, b}) {
    // `timeout`: a connection that wrongly got through would wait for the listener to close.
    auto sent = sh(id, "echo out | timeout 5 nc -w 1 " + std::string(kOutsideAddress) + " 4100");
    EXPECT_NE(exit_code_of(sent), 0) << sent.output();
  }
  // Nothing got through (a connection would be waiting in the backlog by now).
  EXPECT_FALSE(outside.accept(0ms));

  // Nor does the outside get in, while kleened's host does.
  auto listener = begin(b, {"/bin/sh", "-c", "exec nc -l -p 4000"});
  ASSERT_TRUE(wait_listening(b, 4000));
  EXPECT_FALSE(tcp_exchange(outside_ns_->fd(), "10.13.12.2", 4000, "in\n", 1s));
  auto control = tcp_exchange(daemon_ns_->fd(), "10.13.12.2", 4000, "control\n", 10s);
  if (!control) (void)kill(listener);
  ASSERT_TRUE(control) << "10.13.12.2 not reachable from the daemon namespace";
  EXPECT_EQ(output_of(listener.ws->finish()), "control\n");
}

// Without --nat false the outside sees kleened's uplink address; with it, the container's.
TEST_F(NetworkTrafficTest, NatHidesContainersFromTheOutside) {
  TcpListener outside(outside_ns_->fd(), kOutsideAddress, 4200);
  ASSERT_TRUE(outside.ok());
  const std::string nat =
      create_network({{"name", "klnat"}, {"type", "loopback"}, {"subnet", "10.13.13.0/24"}});
  const std::string plain = create_network(
      {{"name", "klnonat"}, {"type", "loopback"}, {"subnet", "10.13.14.0/24"}, {"nat", ""}});
  const std::string bridged = create_network({{"name", "klnatbr"},
                                              {"type", "bridge"},
                                              {"subnet", "10.13.15.0/24"},
                                              {"gateway", "<auto>"}});
  ASSERT_FALSE(nat.empty() || plain.empty() || bridged.empty());
  // The outside knows the way back to the un-NATed network only.
  ASSERT_TRUE(outside_ns_->add_route("10.13.14.0/24", kDaemonAddress));

  struct Case {
    std::string name, network, driver, ip, seen;
  };
  for (const auto& c : {Case{"klnatted", nat, "ipnet", "10.13.13.2", kDaemonAddress},
                        Case{"klplain", plain, "ipnet", "10.13.14.2", "10.13.14.2"},
                        Case{"klnatvnet", bridged, "vnet", "10.13.15.2", kDaemonAddress}}) {
    SCOPED_TRACE(c.name);
    const std::string id = run_on(c.name, c.network, {{"network_driver", c.driver}}, c.ip);
    ASSERT_FALSE(id.empty());
    auto client =
        begin(id, {"/bin/sh", "-c", "echo from-" + c.name + " | nc " + kOutsideAddress + " 4200"});
    auto accepted = outside.accept(10s, "welcome\n");
    auto done = accepted ? client.ws->finish() : kill(client);
    ASSERT_TRUE(accepted) << "no connection from " << c.name << ": " << output_of(done);
    EXPECT_EQ(accepted->peer, c.seen);
    EXPECT_EQ(accepted->data, "from-" + c.name + "\n");
    EXPECT_EQ(output_of(done), "welcome\n");
    EXPECT_EQ(exit_code_of(done), 0) << done.close_reason;
  }
}

TEST_F(NetworkTrafficTest, PublishedTcpPortIsReachedFromTheOutside) {
  const std::string net =
      create_network({{"name", "klpub"}, {"type", "loopback"}, {"subnet", "10.13.16.0/24"}});
  ASSERT_FALSE(net.empty());
  const std::string id = run_on("klweb", net,
                                {{"public_ports",
                                  {{{"interfaces", json::array()},
                                    {"host_port", "8080"},
                                    {"container_port", "80"},
                                    {"protocol", "tcp"}}}}},
                                "10.13.16.2");
  ASSERT_FALSE(id.empty());
  auto server = begin(id, {"/bin/sh", "-c", "echo hello | nc -l -p 80"});
  ASSERT_TRUE(wait_listening(id, 80));
  auto answer =
      tcp_exchange(outside_ns_->fd(), kDaemonAddress, 8080, "hi\n", 10s, Close::kAfterPeer);
  auto done = answer ? server.ws->finish() : kill(server);
  ASSERT_TRUE(answer) << "10.254.0.1:8080 not reachable from the outside";
  EXPECT_EQ(*answer, "hello\n");
  EXPECT_EQ(output_of(done), "hi\n");
}

// busybox has no UDP server, so the test's own socket is the container's: made inside the
// container's network namespace (/proc/<init>/ns/net), bound to the container port.
TEST_F(NetworkTrafficTest, PublishedUdpPortIsReachedFromTheOutside) {
  const std::string net = create_network({{"name", "klpubudp"},
                                          {"type", "bridge"},
                                          {"subnet", "10.13.17.0/24"},
                                          {"gateway", "<auto>"}});
  ASSERT_FALSE(net.empty());
  const std::string id = run_on("kludp", net,
                                {{"network_driver", "vnet"},
                                 {"public_ports",
                                  {{{"interfaces", json::array()},
                                    {"host_port", "9053"},
                                    {"container_port", "53"},
                                    {"protocol", "udp"}}}}},
                                "10.13.17.2");
  ASSERT_FALSE(id.empty());
  const int pid = init_pid(id);
  ASSERT_GT(pid, 0);
  UniqueFd container_ns = open_netns("/proc/" + std::to_string(pid) + "/ns/net");
  ASSERT_TRUE(container_ns);
  struct stat container_st {
  }, daemon_st{};
  ASSERT_EQ(::fstat(container_ns.get(), &container_st), 0);
  ASSERT_EQ(::fstat(daemon_ns_->fd(), &daemon_st), 0);
  ASSERT_NE(container_st.st_ino, daemon_st.st_ino) << "the container has no namespace of its own";
  UniqueFd inside = socket_in_netns(container_ns.get(), AF_INET, SOCK_DGRAM);
  sockaddr_in any = inet_address("0.0.0.0", 53);
  ASSERT_EQ(::bind(inside.get(), reinterpret_cast<sockaddr*>(&any), sizeof any), 0);

  UniqueFd outside = outside_ns_->socket(AF_INET, SOCK_DGRAM);
  sockaddr_in published = inet_address(kDaemonAddress, 9053);
  ASSERT_EQ(::sendto(outside.get(), "ping", 4, 0, reinterpret_cast<sockaddr*>(&published),
                     sizeof published),
            4);
  pollfd pfd{inside.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&pfd, 1, 10000), 1) << "the datagram did not reach the container";
  char buffer[64] = {};
  sockaddr_in from{};
  socklen_t len = sizeof from;
  ssize_t n =
      ::recvfrom(inside.get(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &len);
  EXPECT_EQ(std::string(buffer, static_cast<size_t>(std::max<ssize_t>(n, 0))), "ping");
  EXPECT_EQ(address_text(from), kOutsideAddress);  // DNAT only: the source is kept
  ASSERT_EQ(::sendto(inside.get(), "pong", 4, 0, reinterpret_cast<sockaddr*>(&from), len), 4);

  pollfd back{outside.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&back, 1, 10000), 1) << "no answer came back";
  len = sizeof from;
  n = ::recvfrom(outside.get(), buffer, sizeof buffer, 0, reinterpret_cast<sockaddr*>(&from), &len);
  EXPECT_EQ(std::string(buffer, static_cast<size_t>(std::max<ssize_t>(n, 0))), "pong");
  EXPECT_EQ(address_text(from), kDaemonAddress);
  EXPECT_EQ(ntohs(from.sin_port), 9053);
}

// -p 5000:5002:4000 → host_port "5000:5002", container_port "4000:*": each port keeps its offset.
TEST_F(NetworkTrafficTest, PublishedPortRangeKeepsOffsets) {
  const std::string net =
      create_network({{"name", "klrange"}, {"type", "loopback"}, {"subnet", "10.13.18.0/24"}});
  ASSERT_FALSE(net.empty());
  const std::string id = run_on("klranged", net,
                                {{"public_ports",
                                  {{{"interfaces", json::array()},
                                    {"host_port", "5000:5002"},
                                    {"container_port", "4000:*"},
                                    {"protocol", "tcp"}}}}},
                                "10.13.18.2");
  ASSERT_FALSE(id.empty());
  for (int i = 0; i < 3; ++i) {
    const std::string port = std::to_string(4000 + i);
    ASSERT_TRUE(detach(id, {"/bin/sh", "-c", "echo p" + port + " | nc -l -p " + port}));
  }
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(wait_listening(id, 4000 + i));
  for (int i = 0; i < 3; ++i) {
    auto answer = tcp_exchange(outside_ns_->fd(), kDaemonAddress, static_cast<uint16_t>(5000 + i),
                               "", 10s, Close::kAfterPeer);
    ASSERT_TRUE(answer) << "port " << 5000 + i;
    EXPECT_EQ(*answer, "p" + std::to_string(4000 + i) + "\n");
  }
}

// The API's refusals for addresses and drivers, through /networks/connect.
TEST_F(NetworkTrafficTest, AddressExhaustionDuplicatesAndDriverMatrix) {
  const std::string small = create_network({{"name", "klsmall"},
                                            {"type", "bridge"},
                                            {"subnet", "10.13.19.0/30"},
                                            {"gateway", "<auto>"}});
  const std::string lo =
      create_network({{"name", "kllo"}, {"type", "loopback"}, {"subnet", "10.13.21.0/24"}});
  ASSERT_FALSE(small.empty() || lo.empty());

  // A /30 with a gateway holds one container.
  const std::string one = create_container("klone", {{"network_driver", "vnet"}});
  const std::string two = create_container("kltwo", {{"network_driver", "vnet"}});
  ASSERT_EQ(connect(one, small).status, 204);
  EXPECT_EQ(address_of(one, small), "10.13.19.2") << inspect_container(one).dump();
  auto full = connect(two, small);
  EXPECT_EQ(full.status, 409) << full.body;
  EXPECT_EQ(message_of(full), "no more inet IP's left in the network");
  EXPECT_TRUE(inspect_container(two)["container_endpoints"].empty());

  // An explicit address taken by another container.
  const std::string three = create_container("klthree");
  const std::string four = create_container("klfour");
  ASSERT_EQ(connect(three, lo, "10.13.21.5").status, 204);
  auto taken = connect(four, lo, "10.13.21.5");
  EXPECT_EQ(taken.status, 409) << taken.body;
  EXPECT_EQ(message_of(taken), "ip address 10.13.21.5 is already in use in the network");
  auto again = connect(three, lo, "10.13.21.6");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_EQ(message_of(again), "container already connected to the network");

  // host and disabled containers connect to nothing; vnet only to bridges.
  for (const std::string driver : {"host", "disabled"}) {
    const std::string id = create_container("kl" + driver, {{"network_driver", driver}});
    auto refused = connect(id, lo);
    EXPECT_EQ(refused.status, 409) << refused.body;
    EXPECT_EQ(message_of(refused),
              "containers with the '" + driver + "' network-driver cannot connect to networks.");
  }
  auto vnet_lo = connect(two, lo);
  EXPECT_EQ(vnet_lo.status, 409) << vnet_lo.body;
  EXPECT_EQ(message_of(vnet_lo),
            "containers using the 'vnet' network-driver can't connect to loopback networks");
  EXPECT_EQ(connect("klnothere", lo).status, 404);
  EXPECT_EQ(connect(one, "klnothere").status, 404);
}

// kleened stopped (SIGTERM) and started again, then killed (-9) and started again: the running
// containers stay connected through the very same links (same ifindex), traffic and names
// still work.
TEST_F(NetworkTrafficTest, DaemonRestartKeepsContainersConnected) {
  const std::string net =
      create_network({{"name", "klkeep"}, {"type", "loopback"}, {"subnet", "10.13.22.0/24"}});
  const std::string br = create_network({{"name", "klkeepbr"},
                                         {"type", "bridge"},
                                         {"subnet", "10.13.23.0/24"},
                                         {"gateway", "<auto>"}});
  ASSERT_FALSE(net.empty() || br.empty());
  const std::string server = run_on("klserver", net, {}, "10.13.22.2");
  const std::string client = run_on("klclient", net, {}, "10.13.22.3");
  const std::string vserver = run_on("klvserver", br, {{"network_driver", "vnet"}}, "10.13.23.2");
  const std::string vclient = run_on("klvclient", br, {{"network_driver", "vnet"}}, "10.13.23.3");
  ASSERT_FALSE(server.empty() || client.empty() || vserver.empty() || vclient.empty());
  const std::string bridge = bridge_of(br);
  const auto links = container_links({bridge});
  EXPECT_EQ(links.size(), 4u);
  const auto bridge_links = daemon_ns_->ip_lines({"-o", "link", "show", "dev", bridge});

  for (int signal : {SIGTERM, SIGKILL}) {
    SCOPED_TRACE(signal == SIGTERM ? "SIGTERM" : "SIGKILL");
    if (signal == SIGTERM) {
      ASSERT_TRUE(daemon.stop());
    } else {
      ASSERT_EQ(::kill(daemon.pid(), SIGKILL), 0);
      ASSERT_TRUE(daemon.stop(128 + SIGKILL));
    }
    ASSERT_TRUE(daemon.start());

    EXPECT_EQ(container_links({bridge}), links);
    EXPECT_EQ(daemon_ns_->ip_lines({"-o", "link", "show", "dev", bridge}), bridge_links);
    ASSERT_NO_FATAL_FAILURE(expect_talk(server, client, "klserver"));
    ASSERT_NO_FATAL_FAILURE(expect_talk(vserver, vclient, "10.13.23.2"));
    EXPECT_EQ(container_links({bridge}), links);
  }
}

// A stopped container loses its veth (and, for ipnet, the host route); started again it gets
// them back.
TEST_F(NetworkTrafficTest, StopRemovesVethAndRoute) {
  const std::string net =
      create_network({{"name", "klstop"}, {"type", "loopback"}, {"subnet", "10.13.24.0/24"}});
  const std::string br = create_network({{"name", "klstopbr"},
                                         {"type", "bridge"},
                                         {"subnet", "10.13.25.0/24"},
                                         {"gateway", "<auto>"}});
  ASSERT_FALSE(net.empty() || br.empty());
  const std::string bridge = bridge_of(br);
  const std::string ipnet = run_on("klipnet", net, {}, "10.13.24.2");
  ASSERT_FALSE(ipnet.empty());
  EXPECT_EQ(container_links({bridge}).size(), 1u);
  EXPECT_EQ(routes_to("10.13.24.2").size(), 1u);
  const std::string vnet = run_on("klvnet", br, {{"network_driver", "vnet"}}, "10.13.25.2");
  ASSERT_FALSE(vnet.empty());
  EXPECT_EQ(container_links({bridge}).size(), 2u);

  // The veth pairs go with the containers' namespaces, which the kernel dismantles in the
  // background (kleened does not wait ~20 ms per link for it): they are gone soon after.
  ASSERT_EQ(api("POST", "/containers/" + ipnet + "/stop").status, 200);
  EXPECT_TRUE(eventually([&] { return container_links({bridge}).size() == 1u; }));
  EXPECT_TRUE(eventually([&] { return routes_to("10.13.24.2").empty(); }));
  ASSERT_EQ(api("POST", "/containers/" + vnet + "/stop").status, 200);
  EXPECT_TRUE(eventually([&] { return container_links({bridge}).empty(); }));
  // The network and its endpoint stay: a start connects again.
  EXPECT_EQ(address_of(ipnet, net), "10.13.24.2") << inspect_container(ipnet).dump();
  ASSERT_TRUE(start(ipnet));
  EXPECT_EQ(container_links({bridge}).size(), 1u);
  EXPECT_EQ(routes_to("10.13.24.2").size(), 1u);
  auto listener = begin(ipnet, {"/bin/sh", "-c", "exec nc -l -p 4000"});
  ASSERT_TRUE(wait_listening(ipnet, 4000));
  auto sent = tcp_exchange(daemon_ns_->fd(), "10.13.24.2", 4000, "back\n", 10s);
  if (!sent) (void)kill(listener);
  ASSERT_TRUE(sent) << "10.13.24.2 not reachable after the restart";
  EXPECT_EQ(output_of(listener.ws->finish()), "back\n");
}

// IPv6 on both drivers: ipnet gets a /128 and a default route via fe80::1, vnet the subnet6
// prefix and a default route via gateway6; containers talk over IPv6.
TEST_F(NetworkTrafficTest, Ipv6TrafficOnIpnetAndVnet) {
  const std::string lo = create_network({{"name", "klloop6"},
                                         {"type", "loopback"},
                                         {"subnet", "10.13.26.0/24"},
                                         {"subnet6", "fd00:13:26::/64"}});
  const std::string br = create_network({{"name", "klbr6"},
                                         {"type", "bridge"},
                                         {"subnet", "10.13.27.0/24"},
                                         {"gateway", "<auto>"},
                                         {"subnet6", "fd00:13:27::/64"},
                                         {"gateway6", "<auto>"}});
  ASSERT_FALSE(lo.empty() || br.empty());
  struct Pair {
    std::string network, driver, server_ip6, client_ip6, prefix, route;
  };
  for (const auto& p :
       {Pair{lo, "ipnet", "fd00:13:26::2", "fd00:13:26::3", "/128", "fe80::1"},
        Pair{br, "vnet", "fd00:13:27::2", "fd00:13:27::3", "/64", "fd00:13:27::1"}}) {
    SCOPED_TRACE(p.driver);
    const std::string server = create_container("kl6s" + p.driver, {{"network_driver", p.driver}});
    const std::string client = create_container("kl6c" + p.driver, {{"network_driver", p.driver}});
    ASSERT_EQ(connect(server, p.network, "<auto>", p.server_ip6).status, 204);
    ASSERT_EQ(connect(client, p.network, "<auto>", p.client_ip6).status, 204);
    ASSERT_TRUE(start(server));
    ASSERT_TRUE(start(client));
    auto addr = sh(server, "ip -o -6 addr show dev eth0; ip -6 route");
    EXPECT_TRUE(contains(addr.output(), "inet6 " + p.server_ip6 + p.prefix)) << addr.output();
    EXPECT_TRUE(contains(addr.output(), "default via " + p.route)) << addr.output();
    ASSERT_NO_FATAL_FAILURE(expect_talk(server, client, p.server_ip6));
  }
}

// klee's commands (as in Kleene's documentation) against the daemon: a network, `klee run`
// with --network, --ip and -p, the published port reached from the outside.
TEST_F(NetworkTrafficTest, KleeRunOnANetworkWithAPublishedPort) {
  auto klee = [this](std::vector<std::string> args) {
    args.insert(args.begin(), {"--host", unix_host()});
    return run_klee(args);
  };
  auto created =
      klee({"network", "create", "--type", "loopback", "--subnet", "10.13.28.0/24", "klweb"});
  ASSERT_EQ(created.exit_code, 0) << describe(created);
  auto run = klee({"run", "-d", "--name", "klkweb", "-n", "klweb", "--ip", "10.13.28.5", "-p",
                   "8080:80", kImage, "/bin/sh", "-c", "echo hello | nc -l -p 80"});
  ASSERT_EQ(run.exit_code, 0) << describe(run);
  const json container = inspect_container("klkweb");
  const std::string id = container["container"].value("id", "");
  ASSERT_FALSE(id.empty()) << container.dump();
  EXPECT_EQ(container["container"]["network_driver"], "ipnet");
  EXPECT_EQ(address_of(id, "klweb"), "10.13.28.5") << container.dump();
  ASSERT_TRUE(wait_listening(id, 80));
  auto answer = tcp_exchange(outside_ns_->fd(), kDaemonAddress, 8080, "", 10s, Close::kAfterPeer);
  ASSERT_TRUE(answer) << "10.254.0.1:8080 not reachable from the outside";
  EXPECT_EQ(*answer, "hello\n");

  auto hosts = klee({"run", "-n", "klweb", "--name", "klkhosts", kImage, "cat", "/etc/hosts"});
  EXPECT_EQ(hosts.exit_code, 0) << describe(hosts);
  EXPECT_TRUE(hosts_has(hosts.out, "10.13.28.5", "klkweb")) << hosts.out;
  EXPECT_TRUE(hosts_has(hosts.out, "10.13.28.1", "klkhosts") ||
              hosts_has(hosts.out, "10.13.28.2", "klkhosts"))
      << hosts.out;
}

TEST_F(NetworkTrafficTest, BuildStepsRunOnTheBuildsNetwork) {
  auto klee = [this](std::vector<std::string> args) {
    args.insert(args.begin(), {"--host", unix_host()});
    return run_klee(args);
  };
  auto created =
      klee({"network", "create", "--type", "loopback", "--subnet", "10.13.29.0/24", "klbuild"});
  ASSERT_EQ(created.exit_code, 0) << describe(created);
  auto server = klee({"run", "-d", "--name", "klbsrv", "-n", "klbuild", kImage, "/bin/sh", "-c",
                      "echo from-server | nc -l -p 4000"});
  ASSERT_EQ(server.exit_code, 0) << describe(server);
  const std::string id = inspect_container("klbsrv")["container"].value("id", "");
  ASSERT_TRUE(wait_listening(id, 4000));

  // `klee build -n`: the build container is on the network, knows its peers by name.
  TempDir context;
  std::ofstream(context.file("Dockerfile"))
      << "FROM " << kImage << "\nRUN nc -w 5 klbsrv 4000 > /got\n";
  auto built = klee({"build", "-n", "klbuild", "-t", "klnetbuild", context.path()});
  ASSERT_EQ(built.exit_code, 0) << describe(built);
  auto got = klee({"run", "--name", "klbcheck", "klnetbuild", "cat", "/got"});
  EXPECT_NE(got.out.find("from-server"), std::string::npos) << describe(got);
  EXPECT_EQ(klee({"rmc", "klbcheck"}).exit_code, 0);
  EXPECT_EQ(klee({"image", "rm", "klnetbuild"}).exit_code, 0);
}

}  // namespace
}  // namespace kleene::it
