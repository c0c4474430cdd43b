// What the suites that run containers on networks share. The host's forwarding sysctls,
// interfaces, routes and nftables rules are never touched: kleened runs inside a "daemon"
// network namespace of the test, joined by a veth to an "outside" namespace that stands for
// the rest of the world:
//
//   outside netns                         daemon netns (kleened, its bridges, veths, nft)
//   kl-out 10.254.0.2/24  <---- veth ---->  kl-up 10.254.0.1/24, default via 10.254.0.2
//
// The daemon's default route goes through kl-up, so kleened's <host-gateway> (NAT interface,
// published ports with interfaces []) is kl-up. After each test has removed its containers
// and networks and kleened has stopped, the fixture checks inside the daemon namespace that no
// link, route or nftables table of kleene is left, then deletes both namespaces.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "container_fixture.hpp"
#include "netns.hpp"
#include "ws_client.hpp"

namespace kleene::it {

// A socket address "a.b.c.d:port".
inline sockaddr_in inet_address(const std::string& ip, uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  return a;
}

inline std::string address_text(const sockaddr_in& a) {
  char text[INET_ADDRSTRLEN] = {};
  ::inet_ntop(AF_INET, &a.sin_addr, text, sizeof text);
  return text;
}

// connect() bounded by `timeout` (non-blocking connect + poll); 0 or the errno.
inline int connect_within(int fd, const sockaddr_in& to, std::chrono::milliseconds timeout) {
  int flags = ::fcntl(fd, F_GETFL);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int result = 0;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
    result = errno;
    if (result == EINPROGRESS) {
      pollfd pfd{fd, POLLOUT, 0};
      if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) {
        result = ETIMEDOUT;
      } else {
        socklen_t len = sizeof result;
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &result, &len);
      }
    }
  }
  ::fcntl(fd, F_SETFL, flags);
  return result;
}

// Everything `fd` receives until EOF or `timeout`.
inline std::string read_to_eof(int fd, std::chrono::milliseconds timeout) {
  std::string data;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return data;
    pollfd pfd{fd, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) return data;
    char buffer[4096];
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n <= 0) return data;
    data.append(buffer, static_cast<size_t>(n));
  }
}

// How a TCP client of the test ends its side.
enum class Close {
  kFirst,      // half-close right after sending, then read: for a peer that waits for our EOF
  kAfterPeer,  // read until the peer closes its side, then close: for a peer that speaks and
               // closes first (busybox `echo x | nc -l`, which exits at our EOF, maybe before
               // it has sent what it had to say)
};

// A TCP client in the network namespace `netns_fd`: connects to ip:port, sends `message`,
// and returns what the peer sent until it closed its side; nullopt (and the errno in `error`)
// when the connection could not be made within `timeout`.
inline std::optional<std::string> tcp_exchange(int netns_fd, const std::string& ip, uint16_t port,
                                               const std::string& message,
                                               std::chrono::milliseconds timeout,
                                               Close close = Close::kFirst, int* error = nullptr) {
  UniqueFd fd = socket_in_netns(netns_fd, AF_INET, SOCK_STREAM);
  int failed = connect_within(fd.get(), inet_address(ip, port), timeout);
  if (error != nullptr) *error = failed;
  if (failed != 0) return std::nullopt;
  if (!message.empty()) (void)!::write(fd.get(), message.data(), message.size());
  if (close == Close::kFirst) ::shutdown(fd.get(), SHUT_WR);
  return read_to_eof(fd.get(), timeout);
}

// A TCP listener of the test in a network namespace (bound and listening before anything
// connects, so no readiness polling is needed).
class TcpListener {
 public:
  TcpListener(int netns_fd, const std::string& ip, uint16_t port)
      : fd_(socket_in_netns(netns_fd, AF_INET, SOCK_STREAM)) {
    int one = 1;
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a = inet_address(ip, port);
    ok_ = ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
          ::listen(fd_.get(), 8) == 0;
  }
  bool ok() const { return ok_; }

  struct Accepted {
    std::string peer;  // the peer's address as this side sees it
    std::string data;  // what it sent until it shut its side
  };
  // The next connection within `timeout`: its peer address and what it sent until it closed
  // its side; then `answer` is sent back and the connection closed (in this order: busybox nc
  // exits at our EOF, so it must have sent everything before). nullopt when nobody connected
  // in time.
  std::optional<Accepted> accept(std::chrono::milliseconds timeout,
                                 const std::string& answer = "") {
    pollfd pfd{fd_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    sockaddr_in peer{};
    socklen_t len = sizeof peer;
    UniqueFd conn(::accept4(fd_.get(), reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC));
    if (!conn) return std::nullopt;
    Accepted accepted{address_text(peer), read_to_eof(conn.get(), timeout)};
    if (!answer.empty()) (void)!::write(conn.get(), answer.data(), answer.size());
    return accepted;
  }

 private:
  UniqueFd fd_;
  bool ok_ = false;
};

class NetworkFixture : public ImageKleenedTest {
 protected:
  static constexpr const char* kUplink = "kl-up";
  static constexpr const char* kOutsideLink = "kl-out";
  static constexpr const char* kDaemonAddress = "10.254.0.1";
  static constexpr const char* kOutsideAddress = "10.254.0.2";
  static constexpr const char* kImage = "busybox";

  void SetUp() override {
    auto daemon_ns = TestNetns::create();
    ASSERT_TRUE(daemon_ns) << daemon_ns.error();
    daemon_ns_ = std::move(*daemon_ns);
    auto outside_ns = TestNetns::create();
    ASSERT_TRUE(outside_ns) << outside_ns.error();
    outside_ns_ = std::move(*outside_ns);
    ASSERT_TRUE(connect_veth(*daemon_ns_, kUplink, std::string(kDaemonAddress) + "/24",
                             *outside_ns_, kOutsideLink, std::string(kOutsideAddress) + "/24"));
    ASSERT_TRUE(daemon_ns_->add_route("default", kOutsideAddress));

    daemon.set_network_namespace(daemon_ns_->path());
    ASSERT_NO_FATAL_FAILURE(start_with_image(kImage));
  }

  void TearDown() override {
    remove_everything();
    if (daemon_ns_) expect_clean_daemon_netns();
    if (outside_ns_) {
      EXPECT_TRUE(outside_ns_->remove());
    }
    if (daemon_ns_) {
      EXPECT_TRUE(daemon_ns_->remove());
    }
    outside_ns_.reset();
    daemon_ns_.reset();
  }

  // Whether `done()` holds within `limit`, asked every 10 ms. Only for what the kernel does in
  // the background and signals to nobody: the veth pairs of a container that ended go with its
  // network namespace, which the kernel dismantles in a work queue after the last process left.
  static bool eventually(const std::function<bool()>& done,
                         std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done()) {
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  // What kleened may leave in its namespace: lo and the uplink, the uplink's routes and the
  // default route; no nftables table of kleene. The containers' veth pairs may still be on their
  // way out with the containers' namespaces: they get a bounded moment to go.
  void expect_clean_daemon_netns() const {
    (void)eventually([&] {
      return std::ranges::all_of(links(*daemon_ns_), [](const std::string& name) {
        return name == "lo" || name == kUplink;
      });
    });
    std::vector<std::string> left;
    for (const auto& name : links(*daemon_ns_)) {
      if (name != "lo" && name != kUplink) left.push_back("link " + name);
    }
    for (const auto& family : {"-4", "-6"}) {
      for (const auto& line : daemon_ns_->ip_lines({family, "route", "show"})) {
        if (contains(line, std::string("dev ") + kUplink + " ") || line.ends_with(kUplink))
          continue;
        left.push_back(std::string("route ") + family + " " + line);
      }
    }
    auto tables = daemon_ns_->run({"nft", "list", "tables"});
    std::istringstream in(tables.out);
    for (std::string line; std::getline(in, line);) {
      if (contains(line, "kleene")) left.push_back("nft " + line);
    }
    std::string list;
    for (const auto& item : left)
      list += "\n  " + item;
    EXPECT_TRUE(left.empty()) << "left in the daemon netns " << daemon_ns_->name() << ":" << list;
  }

  // Names of the links of a namespace.
  static std::vector<std::string> links(const TestNetns& ns) {
    std::vector<std::string> names;
    for (const auto& line : ns.ip_lines({"-o", "link", "show"})) {
      auto start = line.find(": ");
      if (start == std::string::npos) continue;
      std::string name = line.substr(start + 2, line.find(':', start + 2) - start - 2);
      names.push_back(name.substr(0, name.find('@')));
    }
    return names;
  }

  // --- the API --------------------------------------------------------------------------

  // POST /networks/create (name and type in `config`); the id, "" with a failure added.
  std::string create_network(const json& config) {
    auto r = api("POST", "/networks/create", config.dump());
    EXPECT_EQ(r.status, 201) << config.dump() << ": " << r.body;
    return r.status == 201 ? body_of(r).value("id", "") : "";
  }

  // POST /containers/create with the busybox image, `sleep 3600` unless cmd is given.
  std::string create_container(const std::string& name, json config = json::object()) {
    if (!config.contains("image")) config["image"] = kImage;
    if (!config.contains("cmd")) config["cmd"] = {"/bin/sleep", "3600"};
    auto r = api("POST", "/containers/create?name=" + name, config.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return r.status == 201 ? body_of(r).value("id", "") : "";
  }

  HttpResponse connect(const std::string& container, const std::string& network,
                       const std::string& ip = "<auto>", const std::string& ip6 = "") {
    return api("POST", "/networks/connect",
               json{{"container", container},
                    {"network", network},
                    {"ip_address", ip},
                    {"ip_address6", ip6}}
                   .dump());
  }
  HttpResponse disconnect(const std::string& container, const std::string& network) {
    return api("POST", "/networks/" + network + "/disconnect/" + container);
  }

  std::string exec_create(const std::string& container, json config = json::object()) {
    config["container_id"] = container;
    auto r = api("POST", "/exec/create", config.dump());
    EXPECT_EQ(r.status, 201) << r.body;
    return body_of(r).value("id", "");
  }

  static std::string close_message(const WsClient::Outcome& o) {
    const json reason = json::parse(o.close_reason, nullptr, false);
    return reason.is_object() ? reason.value("message", o.close_reason) : o.close_reason;
  }
  // "... exited with exit-code N" -> N; -1 when the message has none.
  static int exit_code_of(const WsClient::Outcome& o) {
    static const std::regex re("exit-code (-?[0-9]+)");
    std::smatch m;
    const std::string message = close_message(o);
    return std::regex_search(message, m, re) ? std::stoi(m[1].str()) : -1;
  }

  // Starts the container (its own command, detached); success or kleened's answer.
  testing::AssertionResult start(const std::string& container) {
    auto o = WsClient::run(
        daemon.socket_path(), "/exec/start",
        json{{"exec_id", exec_create(container)}, {"attach", false}, {"start_container", true}}
            .dump());
    if (o.close_code == 1001) return testing::AssertionSuccess();
    return testing::AssertionFailure()
           << "container " << container << " did not start: " << o.close_code << " "
           << o.close_reason;
  }

  // Creates a container, connects it to `network` (with `ip`) and starts it; its id.
  std::string run_on(const std::string& name, const std::string& network, json config = {},
                     const std::string& ip = "<auto>") {
    if (config.is_null()) config = json::object();
    const std::string id = create_container(name, std::move(config));
    if (id.empty()) return "";
    auto connected = connect(id, network, ip);
    EXPECT_EQ(connected.status, 204) << connected.body;
    auto started = start(id);
    EXPECT_TRUE(started);
    return connected.status == 204 && started ? id : "";
  }

  // A command run to its end inside a running container (attached exec).
  WsClient::Outcome exec(const std::string& container, const std::vector<std::string>& cmd) {
    return WsClient::run(daemon.socket_path(), "/exec/start",
                         json{{"exec_id", exec_create(container, {{"cmd", cmd}})},
                              {"attach", true},
                              {"start_container", false}}
                             .dump());
  }
  WsClient::Outcome sh(const std::string& container, const std::string& script) {
    return exec(container, {"/bin/sh", "-c", script});
  }

  // A command started inside a running container; the session is open after its "starting"
  // message. finish() it for the output and the closing message.
  struct Session {
    std::string exec_id;
    std::unique_ptr<WsClient> ws;
  };
  Session begin(const std::string& container, const std::vector<std::string>& cmd) {
    Session s{exec_create(container, {{"cmd", cmd}}), nullptr};
    s.ws = std::make_unique<WsClient>(daemon.socket_path(), "/exec/start");
    s.ws->send_text(
        json{{"exec_id", s.exec_id}, {"attach", true}, {"start_container", false}}.dump());
    auto starting = s.ws->next();
    EXPECT_TRUE(starting && starting->opcode == 1) << (starting ? starting->data : "no frame");
    return s;
  }
  // All the output of a session begun with begin() (its "starting" message is already read,
  // so WsClient::Outcome::output(), which skips the first frame, does not apply).
  static std::string output_of(const WsClient::Outcome& o) {
    std::string out;
    for (const auto& f : o.frames)
      out += f.data;
    return out;
  }
  // Stops a session's command (SIGKILL) and collects it.
  WsClient::Outcome kill(Session& s) {
    (void)api("POST", "/exec/" + s.exec_id + "/stop?force_stop=true&stop_container=false");
    return s.ws->finish();
  }
  // Starts a command detached inside a running container.
  testing::AssertionResult detach(const std::string& container,
                                  const std::vector<std::string>& cmd) {
    auto o = WsClient::run(daemon.socket_path(), "/exec/start",
                           json{{"exec_id", exec_create(container, {{"cmd", cmd}})},
                                {"attach", false},
                                {"start_container", false}}
                               .dump());
    if (o.close_code == 1001) return testing::AssertionSuccess();
    return testing::AssertionFailure() << o.close_code << " " << o.close_reason;
  }

  // Until a socket listens on `port` inside the container (busybox netstat). busybox nc has
  // no readiness output, so this is a bounded poll (at most 10 s, 20 ms apart) of the
  // container's socket table; it opens no connection, so a one-shot `nc -l` is not consumed.
  testing::AssertionResult wait_listening(const std::string& container, int port,
                                          const std::string& protocol = "tcp") {
    const std::string flags = protocol == "udp" ? "-lun" : "-ltn";
    auto o = sh(container, "for i in $(seq 500); do netstat " + flags +
                               " | grep -q ':" + std::to_string(port) +
                               " ' && exit 0; usleep 20000; done; netstat -ln; exit 1");
    if (exit_code_of(o) == 0) return testing::AssertionSuccess();
    return testing::AssertionFailure()
           << "nothing listens on " << protocol << " port " << port << " in " << container << ": "
           << o.output() << o.close_reason;
  }

  json inspect_container(const std::string& id) {
    auto r = api("GET", "/containers/" + id + "/inspect");
    EXPECT_EQ(r.status, 200) << r.body;
    return body_of(r);
  }

  // The container's IPv4 address on `network` (id or name; "" if none). An endpoint's
  // network_id holds the network's id or, as Kleene documents it, its name: both are matched.
  std::string address_of(const std::string& container, const std::string& network) {
    const auto r = api("GET", "/networks/" + network + "/inspect");
    const json n = body_of(r).value("network", json());
    if (!n.is_object()) {
      ADD_FAILURE() << "network " << network << ": " << r.status << " " << r.body;
      return "";
    }
    const json endpoints = inspect_container(container)["container_endpoints"];
    for (const auto& e : endpoints) {
      const std::string of = e.value("network_id", "");
      if (of == n.value("id", "") || of == n.value("name", "")) return e.value("ip_address", "");
    }
    return "";
  }

  // The PID of the container's init as kleened reports it (jid), -1 when not running.
  int init_pid(const std::string& container) {
    for (const auto& c : body_of(api("GET", "/containers/list"))) {
      if (c.value("id", "") == container && c["jid"].is_number()) return c["jid"].get<int>();
    }
    return -1;
  }

  std::unique_ptr<TestNetns> daemon_ns_;
  std::unique_ptr<TestNetns> outside_ns_;
};

}  // namespace kleene::it
