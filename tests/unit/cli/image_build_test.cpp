// klee image build / klee build against a scripted /images/build WebSocket on 127.0.0.1: the
// ImageBuildConfig each set of flags sends, the output of successful, quiet, failed and broken
// builds, Ctrl-C closing the socket, and usage errors (nothing sent).
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <functional>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "app.hpp"
#include "test_support.hpp"

namespace klee {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using error_code = boost::system::error_code;
using nlohmann::json;
using Ws = websocket::stream<asio::ip::tcp::socket&>;

void send(Ws& ws, std::string_view text) {
  error_code ec;
  ws.text(true);
  ws.write(asio::buffer(text.data(), text.size()), ec);
}

void close(Ws& ws, websocket::close_code code, const std::string& reason) {
  error_code ec;
  ws.close({code, reason}, ec);
}

std::string message(std::string_view type, std::string_view text, std::string_view data) {
  return json{{"msg_type", type}, {"message", text}, {"data", data}}.dump();
}

const std::string kStarting = message("starting", "", "f7b6cc114e75");

// A kleened with only the /images/build route: each session reads the config frame, then runs
// `script` (which sends frames and closes, or not). Other targets get 404; without a script
// the route refuses the upgrade with 501, as a kleened without the builder may.
class BuildServer {
 public:
  using Script = std::function<void(Ws&)>;

  explicit BuildServer(Script script)
      : script_(std::move(script)),
        acceptor_(ioc_, {asio::ip::make_address("127.0.0.1"), 0}),
        thread_([this] { loop(); }) {}

  ~BuildServer() {
    ::shutdown(acceptor_.native_handle(), SHUT_RDWR);  // wakes the blocking accept()
    thread_.join();
  }

  [[nodiscard]] std::string url() const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  [[nodiscard]] json config() const {
    std::lock_guard lock(mu_);
    return json::parse(config_, nullptr, false);
  }
  [[nodiscard]] std::string target() const {
    std::lock_guard lock(mu_);
    return target_;
  }
  [[nodiscard]] int sessions() const {
    std::lock_guard lock(mu_);
    return sessions_;
  }
  // The Close the client sent, if it closed first. Waits for the sessions to end: klee may
  // return as soon as the server's reading of the Close has answered it, before the server's
  // thread stored it (10 s bound, so a broken client fails the test rather than hanging it).
  [[nodiscard]] websocket::close_reason client_close() const {
    std::unique_lock lock(mu_);
    const bool ended =
        ended_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return ended_ == sessions_; });
    EXPECT_TRUE(ended) << "the session did not end";
    return client_close_;
  }

 private:
  void loop() {
    for (;;) {
      asio::ip::tcp::socket socket(ioc_);
      error_code ec;
      acceptor_.accept(socket, ec);
      if (ec) return;
      serve(socket);
      socket.shutdown(asio::socket_base::shutdown_both, ec);
    }
  }

  void serve(asio::ip::tcp::socket& socket) {
    error_code ec;
    beast::flat_buffer buffer;
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) return;
    {
      std::lock_guard lock(mu_);
      target_ = std::string(req.target());
    }
    if (!websocket::is_upgrade(req) || req.target() != "/images/build" || !script_) {
      const bool route = req.target() == "/images/build";
      http::response<http::string_body> res{
          route ? http::status::not_implemented : http::status::not_found, 11};
      res.set(http::field::content_type, "application/json");
      res.body() =
          route ? R"({"message":"image builds are not available"})" : R"({"message":"not found"})";
      res.prepare_payload();
      http::write(socket, res, ec);
      return;
    }
    Ws ws(socket);
    ws.accept(req, ec);
    if (ec) return;
    beast::flat_buffer frames;
    ws.read(frames, ec);
    if (ec) return;
    {
      std::lock_guard lock(mu_);
      config_ = beast::buffers_to_string(frames.data());
      ++sessions_;
    }
    script_(ws);
    // Until the client is gone: this completes a Close either side started.
    while (!ec)
      ws.read(frames, ec);
    std::lock_guard lock(mu_);
    client_close_ = ws.reason();
    ++ended_;
    ended_cv_.notify_all();
  }

  Script script_;
  asio::io_context ioc_;
  asio::ip::tcp::acceptor acceptor_;
  mutable std::mutex mu_;
  std::string config_, target_;
  int sessions_ = 0;
  int ended_ = 0;  // sessions whose script ran and whose Close exchange ended
  mutable std::condition_variable ended_cv_;
  websocket::close_reason client_close_;
  std::thread thread_;
};

struct Run {
  int code;
  std::string out, err;
};

Run klee_at(const BuildServer& server, std::vector<std::string> args) {
  args.insert(args.begin(), {"--host", server.url(), "--theme", "simple"});
  std::ostringstream out, err;
  const int code = run_klee(args, test::fake_env({{"HOME", "/nonexistent-kleene-home"}}), out, err);
  return {code, out.str(), err.str()};
}

// A successful build of three steps, as Kleene's kleened reports it.
void successful_build(Ws& ws) {
  send(ws, kStarting);
  send(ws, "Step 1/3 : FROM FreeBSD:testing");
  send(ws, "Step 2/3 : RUN ls /");
  send(ws, "bin\n");
  send(ws, "etc\n");
  send(ws, "--> Snapshot created: @7cb0ccbebd9d\n");
  send(ws, "Step 3/3 : CMD echo hi");
  close(ws, websocket::close_code::normal, message("closing", "image created", "f7b6cc114e75"));
}

void failed_build(Ws& ws) {
  send(ws, kStarting);
  send(ws, "Step 1/2 : FROM FreeBSD:testing");
  send(ws, "Step 2/2 : RUN /bin/false");
  send(ws, "half a line");
  send(ws, "The command '/bin/sh -c /bin/false' returned a non-zero code: 1");
  close(ws, websocket::close_code::internal_error,
        message("error", "image build failed", "7cb0ccbebd9d"));
}

std::string cwd() {
  return std::filesystem::current_path().string();
}

TEST(ImageBuild, DefaultsAreKleenes) {
  BuildServer server(successful_build);
  auto r = klee_at(server, {"image", "build", "."});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(server.target(), "/images/build");
  const json expected = {
      {"context", cwd()},
      {"dockerfile", "Dockerfile"},
      {"tag", ""},
      {"quiet", false},
      {"cleanup", false},
      {"no_cache", false},
      {"buildargs", json::object()},
      {"container_config",
       {{"name", nullptr},
        {"cmd", nullptr},
        {"image", nullptr},
        {"user", ""},
        {"env", json::array()},
        {"mounts", json::array()},
        {"jail_param", json::array()},
        {"network_driver", "host"}}},
      {"networks", json::array()},
  };
  EXPECT_EQ(server.config(), expected);
}

TEST(ImageBuild, EveryFlagMapsToTheConfig) {
  BuildServer server(successful_build);
  auto r = klee_at(server, {"build",
                            "-f",
                            "dockerfiles/Dockerfile.debug",
                            "-t",
                            "myapp:debug",
                            "-q",
                            "--rm",
                            "--no-cache",
                            "--build-arg",
                            "FIRST=hello",
                            "--build-arg",
                            "EQ=a=b",
                            "--build-arg",
                            "FIRST=again",
                            "--build-arg=EMPTY=",
                            "--from",
                            "FreeBSD:13.2@6b3c821605d4",
                            "-u",
                            "builder",
                            "-e",
                            "ONE=1",
                            "--env",
                            "TWO=2",
                            "-m",
                            "cache:/var/cache",
                            "--mount",
                            "/srv/data:/data:ro",
                            "-J",
                            "allow.raw_sockets=true",
                            "--jailparam",
                            "osrelease=kleenejail",
                            "--jail-param",
                            "exec.clean=false",
                            "-l",
                            "vnet",
                            "-n",
                            "westnet",
                            "--ip",
                            "10.13.37.7",
                            "--ip6",
                            "fd00::7",
                            "/work/ctx"});
  ASSERT_EQ(r.code, 0) << r.err;
  const json expected = {
      {"context", "/work/ctx"},
      {"dockerfile", "dockerfiles/Dockerfile.debug"},
      {"tag", "myapp:debug"},
      {"quiet", true},
      {"cleanup", true},
      {"no_cache", true},
      {"buildargs", {{"FIRST", "again"}, {"EQ", "a=b"}, {"EMPTY", ""}}},
      {"container_config",
       {{"name", nullptr},
        {"cmd", nullptr},
        {"image", "FreeBSD:13.2@6b3c821605d4"},
        {"user", "builder"},
        {"env", {"ONE=1", "TWO=2"}},
        {"mounts",
         {{{"type", "volume"},
           {"source", "cache"},
           {"destination", "/var/cache"},
           {"read_only", false}},
          {{"type", "nullfs"},
           {"source", "/srv/data"},
           {"destination", "/data"},
           {"read_only", true}}}},
        {"jail_param", {"allow.raw_sockets=true", "osrelease=kleenejail", "exec.clean=false"}},
        {"network_driver", "vnet"}}},
      {"networks",
       {{{"container", ""},
         {"network", "westnet"},
         {"ip_address", "10.13.37.7"},
         {"ip_address6", "fd00::7"}}}},
  };
  EXPECT_EQ(server.config(), expected);
}

TEST(ImageBuild, NetworkDefaults) {
  BuildServer server(successful_build);
  // A network without a driver: ipnet, addresses allocated by kleened.
  ASSERT_EQ(klee_at(server, {"build", "-n", "westnet", "."}).code, 0);
  EXPECT_EQ(server.config()["container_config"]["network_driver"], "ipnet");
  EXPECT_EQ(server.config()["networks"], (json{{{"container", ""},
                                                {"network", "westnet"},
                                                {"ip_address", "<auto>"},
                                                {"ip_address6", "<auto>"}}}));
  // `--network host` is the host driver, with nothing to connect.
  ASSERT_EQ(klee_at(server, {"build", "--network", "host", "."}).code, 0);
  EXPECT_EQ(server.config()["container_config"]["network_driver"], "host");
  EXPECT_EQ(server.config()["networks"], json::array());
  ASSERT_EQ(klee_at(server, {"build", "--network-driver", "disabled", "."}).code, 0);
  EXPECT_EQ(server.config()["container_config"]["network_driver"], "disabled");
}

TEST(ImageBuild, ContextIsSentAbsolute) {
  BuildServer server(successful_build);
  ASSERT_EQ(klee_at(server, {"build", "some/../ctx/"}).code, 0);
  EXPECT_EQ(server.config()["context"], cwd() + "/ctx");
  ASSERT_EQ(klee_at(server, {"image", "build", "/abs/./ctx//"}).code, 0);
  EXPECT_EQ(server.config()["context"], "/abs/ctx");
}

TEST(ImageBuild, SuccessfulBuildOutput) {
  BuildServer server(successful_build);
  auto r = klee_at(server, {"build", "."});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Started to build image with ID f7b6cc114e75\n"
            "Step 1/3 : FROM FreeBSD:testing\n"
            "Step 2/3 : RUN ls /\n"
            "bin\n"
            "etc\n"
            "--> Snapshot created: @7cb0ccbebd9d\n"
            "Step 3/3 : CMD echo hi\n"
            "image created\n"
            "f7b6cc114e75\n");
  EXPECT_EQ(r.err, "");
}

TEST(ImageBuild, OutputWithoutNewlineEndsItsLineBeforeStatusLines) {
  BuildServer server([](Ws& ws) {
    send(ws, kStarting);
    send(ws, "Using user-supplied parent image: 'base:x'");
    send(ws, "Step 1/2 : FROM base");
    send(ws, "Step 2/2 : RUN printf abc");
    send(ws, "abc");
    send(ws, "---> Using cache");
    send(ws, "no newline at the end");
    close(ws, websocket::close_code::normal, message("closing", "image created", "0a1b2c3d4e5f"));
  });
  auto r = klee_at(server, {"build", "--from", "base:x", "."});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Started to build image with ID f7b6cc114e75\n"
            "Using user-supplied parent image: 'base:x'\n"
            "Step 1/2 : FROM base\n"
            "Step 2/2 : RUN printf abc\n"
            "abc\n"
            "---> Using cache\n"
            "no newline at the end\n"
            "image created\n"
            "0a1b2c3d4e5f\n");
}

TEST(ImageBuild, QuietPrintsOnlyTheImageId) {
  BuildServer server(successful_build);  // frames sent anyway are not shown
  auto r = klee_at(server, {"build", "--quiet", "."});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "f7b6cc114e75\n");
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(server.config()["quiet"], true);
}

TEST(ImageBuild, FailedBuildExitsOneWithTheClosingMessage) {
  BuildServer server(failed_build);
  auto r = klee_at(server, {"build", "."});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out,
            "Started to build image with ID f7b6cc114e75\n"
            "Step 1/2 : FROM FreeBSD:testing\n"
            "Step 2/2 : RUN /bin/false\n"
            "half a line\n"
            "The command '/bin/sh -c /bin/false' returned a non-zero code: 1\n");
  EXPECT_EQ(r.err,
            "image build failed\n"
            "Failed to build image f7b6cc114e75. Most recent snapshot is 7cb0ccbebd9d\n");
}

TEST(ImageBuild, QuietFailureShowsTheHeldBackOutput) {
  BuildServer server(failed_build);
  auto r = klee_at(server, {"build", "-q", "."});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "Step 1/2 : FROM FreeBSD:testing\n"
            "Step 2/2 : RUN /bin/false\n"
            "half a line\n"
            "The command '/bin/sh -c /bin/false' returned a non-zero code: 1\n"
            "image build failed\n"
            "Failed to build image f7b6cc114e75. Most recent snapshot is 7cb0ccbebd9d\n");
}

TEST(ImageBuild, ErrorInANormalCloseIsAFailure) {
  BuildServer server([](Ws& ws) {
    send(ws, kStarting);
    close(ws, websocket::close_code::normal, message("error", "image build failed", ""));
  });
  auto r = klee_at(server, {"build", "."});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "Started to build image with ID f7b6cc114e75\n");
  EXPECT_EQ(r.err, "image build failed\n");  // no snapshot: no "Most recent snapshot" line
}

TEST(ImageBuild, InvalidConfigBeforeStarting) {
  BuildServer server([](Ws& ws) {
    close(ws, websocket::close_code::protocol_error,
          message("error", "Could not open Docker file /x/Dockerfile: :enoent", ""));
  });
  auto r = klee_at(server, {"build", "/x"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "Could not open Docker file /x/Dockerfile: :enoent\n");
}

TEST(ImageBuild, DaemonErrorWithoutReason) {
  BuildServer server([](Ws& ws) {
    send(ws, kStarting);
    send(ws, "Step 1/1 : FROM base\n");
    close(ws, websocket::close_code::internal_error, "");
  });
  auto r = klee_at(server, {"build", "."});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "Started to build image with ID f7b6cc114e75\nStep 1/1 : FROM base\n");
  EXPECT_EQ(r.err, "ERROR! Some unexpected error occured\n");
}

TEST(ImageBuild, DaemonDropsTheConnection) {
  BuildServer server([](Ws& ws) {
    send(ws, kStarting);
    error_code ec;
    ws.next_layer().shutdown(asio::socket_base::shutdown_both, ec);  // no Close frame
  });
  auto r = klee_at(server, {"build", "."});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "Started to build image with ID f7b6cc114e75\n");
  EXPECT_EQ(r.err, "ERROR! Connection closed unexpectedly.\n");
}

TEST(ImageBuild, UpgradeRefused) {
  BuildServer server(nullptr);
  auto r = klee_at(server, {"build", "."});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "image builds are not available\n");
  EXPECT_EQ(server.sessions(), 0);
}

TEST(ImageBuild, InterruptClosesTheSocket) {
  BuildServer server([](Ws& ws) {
    send(ws, kStarting);
    send(ws, "Step 1/2 : RUN sleep 1000\n");
    ::kill(::getpid(), SIGINT);  // Ctrl-C in klee, which owns SIGINT during the session
  });
  auto r = klee_at(server, {"build", "."});
  EXPECT_EQ(r.code, 128 + SIGINT);
  EXPECT_EQ(r.err, "");
  const auto closed = server.client_close();
  EXPECT_EQ(closed.code, websocket::close_code::normal);
  EXPECT_EQ(std::string(closed.reason.data(), closed.reason.size()), "interrupted by user");
}

TEST(ImageBuild, SecondInterruptStopsWaiting) {
  BuildServer server([](Ws& ws) {
    send(ws, kStarting);
    ::kill(::getpid(), SIGTERM);
    // Read the client's Close as raw bytes, never answering it; then the second signal.
    std::array<char, 256> bytes{};
    error_code ec;
    ws.next_layer().read_some(asio::buffer(bytes), ec);
    ::kill(::getpid(), SIGTERM);
    while (!ec)
      ws.next_layer().read_some(asio::buffer(bytes), ec);  // until klee has gone
  });
  const auto started = std::chrono::steady_clock::now();
  auto r = klee_at(server, {"build", "."});
  EXPECT_EQ(r.code, 128 + SIGTERM);
  // Well before the 30 s klee would wait for kleened's answer to its Close.
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(20));
}

TEST(ImageBuild, UsageErrorsSendNothing) {
  BuildServer server(successful_build);
  auto missing = klee_at(server, {"image", "build"});
  EXPECT_EQ(missing.code, 2);
  EXPECT_NE(missing.err.find("Error: Missing argument 'PATH'."), std::string::npos) << missing.err;

  auto unknown = klee_at(server, {"build", "--squash", "."});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_NE(unknown.err.find("Error: No such option: --squash"), std::string::npos) << unknown.err;

  auto extra = klee_at(server, {"build", ".", "more"});
  EXPECT_EQ(extra.code, 2);

  auto no_value = klee_at(server, {"build", ".", "-t"});
  EXPECT_EQ(no_value.code, 2);

  for (const std::string spec : {"NOVALUE", "=value"}) {
    auto bad = klee_at(server, {"build", "--build-arg", spec, "."});
    EXPECT_EQ(bad.code, 2);
    EXPECT_EQ(bad.err, "Error: Invalid value for '--build-arg': '" + spec +
                           "' is not of the form KEY=VALUE.\n");
  }

  auto mount = klee_at(server, {"build", "-m", "archive", "."});
  EXPECT_EQ(mount.code, 125);  // Kleene's exit code for a mount spec
  EXPECT_EQ(mount.err,
            "invalid mount format 'archive'. Must have at least 2 elements seperated by ':'.\n");

  auto host = klee_at(server, {"build", "-n", "host", "-l", "vnet", "."});
  EXPECT_EQ(host.code, 2);
  EXPECT_EQ(host.err, "Error: '--network host' cannot be combined with driver 'vnet'.\n");

  EXPECT_EQ(server.sessions(), 0);
  EXPECT_EQ(server.target(), "");
}

TEST(ImageBuild, DaemonUnreachable) {
  std::ostringstream out, err;
  const std::vector<std::string> args = {"--host", "http://127.0.0.1:1", "build", "."};
  const int code = run_klee(args, test::fake_env({{"HOME", "/nonexistent-kleene-home"}}), out, err);
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.str().find("unable to connect to kleened"), std::string::npos) << err.str();
}

}  // namespace
}  // namespace klee
