// klee talks to a real kleened over every kind of listening socket.
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "certs.hpp"
#include "common.hpp"

namespace kleene::it {
namespace {

testing::AssertionResult lists_builtin_plugins(const ProcessResult& r) {
  if (r.exit_code != 0) return testing::AssertionFailure() << describe(r);
  auto names = first_column(r.out);
  for (const auto& plugin : builtin_plugins()) {
    if (!names.contains(plugin)) {
      return testing::AssertionFailure() << "plugin " << plugin << " not listed\n" << describe(r);
    }
  }
  return testing::AssertionSuccess();
}

// Refused over TLS: exit 1 with the connect error or the TLS library's complaint.
testing::AssertionResult tls_refused(const ProcessResult& r) {
  std::string err = lower(r.err);
  bool explained = contains(err, "unable to connect to kleened:") || contains(err, "ssl") ||
                   contains(err, "tls") || contains(err, "certificate") ||
                   contains(err, "handshake");
  if (r.exit_code == 1 && explained) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "expected a refused TLS connection\n" << describe(r);
}

std::string ipv6_loopback_problem() {
  UniqueFd fd(::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return std::string("socket(AF_INET6): ") + std::strerror(errno);
  sockaddr_in6 addr{};
  addr.sin6_family = AF_INET6;
  addr.sin6_addr = in6addr_loopback;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return std::string("bind [::1]:0: ") + std::strerror(errno);
  }
  return "";
}

TEST_F(KleenedTest, UnixSocketVersion) {
  ASSERT_TRUE(daemon.start());
  ASSERT_EQ(daemon.listening(), std::vector<std::string>{unix_host()});
  EXPECT_TRUE(version_round_trip(run_klee({"--host", unix_host(), "version"})));
}

TEST_F(KleenedTest, UnixSocketPluginList) {
  ASSERT_TRUE(daemon.start());
  EXPECT_TRUE(lists_builtin_plugins(run_klee({"--host", unix_host(), "plugin", "ls"})));
  EXPECT_TRUE(lists_builtin_plugins(run_klee({"--host", unix_host(), "plugin", "list"})));
}

TEST_F(KleenedTest, HostFromEnvironment) {
  ASSERT_TRUE(daemon.start());
  EXPECT_TRUE(version_round_trip(run_klee({"version"}, {{"KLEE_HOST", unix_host()}})));
}

TEST_F(KleenedTest, HostFromKleeConfigFile) {
  ASSERT_TRUE(daemon.start());
  std::string config = dir.file("klee_config.yaml");
  write_file(config, "host: " + unix_host() + "\ntheme: simple\n");
  EXPECT_TRUE(version_round_trip(run_klee({"--config", config, "version"})));
  EXPECT_TRUE(version_round_trip(run_klee({"version"}, {{"KLEE_CONFIG", config}})));
}

TEST_F(KleenedTest, TcpPortZeroReportsTheRealPort) {
  daemon.config()["api_listening_sockets"].push_back(json{{"address", "http://127.0.0.1:0"}});
  ASSERT_TRUE(daemon.start());
  std::string tcp = daemon.address("http://127.0.0.1:");
  ASSERT_FALSE(tcp.empty()) << "listening on nothing TCP";
  EXPECT_FALSE(tcp.ends_with(":0")) << tcp;
  EXPECT_FALSE(daemon.address("http:///").empty()) << "the unix socket is listed too";
  EXPECT_TRUE(version_round_trip(run_klee({"--host", tcp, "version"})));
  EXPECT_TRUE(lists_builtin_plugins(run_klee({"--host", tcp, "plugin", "ls"})));
}

TEST_F(KleenedTest, Ipv6Loopback) {
  if (auto problem = ipv6_loopback_problem(); !problem.empty()) {
    GTEST_SKIP() << "no IPv6 loopback on this host: " << problem;
  }
  daemon.config()["api_listening_sockets"] = json::array({json{{"address", "http://[::1]:0"}}});
  ASSERT_TRUE(daemon.start());
  std::string v6 = daemon.address("http://[::1]:");
  ASSERT_FALSE(v6.empty()) << "not listening on [::1]";
  EXPECT_TRUE(version_round_trip(run_klee({"--host", v6, "version"})));
}

class TlsTest : public KleenedTest {
 protected:
  void SetUp() override { pki = make_test_pki(dir); }

  // One https listener on 127.0.0.1; with `verify_clients` client certificates are required.
  void listen_https(bool verify_clients) {
    json entry{{"address", "https://127.0.0.1:0"},
               {"tlscert", pki.server_cert},
               {"tlskey", pki.server_key}};
    if (verify_clients) {
      entry["tlsverify"] = true;
      entry["tlscacert"] = pki.ca_cert;
    }
    daemon.config()["api_listening_sockets"] = json::array({entry});
  }

  std::string https_host() const { return daemon.address("https://127.0.0.1:"); }

  TestPki pki;
};

TEST_F(TlsTest, HttpsWithServerVerification) {
  listen_https(false);
  ASSERT_TRUE(daemon.start());
  ASSERT_FALSE(https_host().empty());
  EXPECT_TRUE(version_round_trip(
      run_klee({"--host", https_host(), "--tlsverify", "--tlscacert", pki.ca_cert, "version"})));
  EXPECT_TRUE(lists_builtin_plugins(run_klee(
      {"--host", https_host(), "--tlsverify", "--tlscacert", pki.ca_cert, "plugin", "ls"})));
}

TEST_F(TlsTest, ServerCertFromAnotherCaIsRefused) {
  listen_https(false);
  ASSERT_TRUE(daemon.start());
  EXPECT_TRUE(tls_refused(run_klee(
      {"--host", https_host(), "--tlsverify", "--tlscacert", pki.other_ca_cert, "version"})));
}

TEST_F(TlsTest, PlainHttpClientOnTlsSocketFails) {
  listen_https(false);
  ASSERT_TRUE(daemon.start());
  std::string plain = "http://" + daemon.authority("https://127.0.0.1:");
  ProcessResult r = run_klee({"--host", plain, "version"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
}

TEST_F(TlsTest, MutualTlsAcceptsClientCertFromTheCa) {
  listen_https(true);
  ASSERT_TRUE(daemon.start());
  EXPECT_TRUE(version_round_trip(
      run_klee({"--host", https_host(), "--tlsverify", "--tlscacert", pki.ca_cert, "--tlscert",
                pki.client_cert, "--tlskey", pki.client_key, "version"})));
}

TEST_F(TlsTest, MutualTlsRefusesClientWithoutCert) {
  listen_https(true);
  ASSERT_TRUE(daemon.start());
  EXPECT_TRUE(tls_refused(
      run_klee({"--host", https_host(), "--tlsverify", "--tlscacert", pki.ca_cert, "version"})));
}

TEST_F(TlsTest, MutualTlsRefusesClientCertFromAnotherCa) {
  listen_https(true);
  ASSERT_TRUE(daemon.start());
  EXPECT_TRUE(tls_refused(
      run_klee({"--host", https_host(), "--tlsverify", "--tlscacert", pki.ca_cert, "--tlscert",
                pki.other_client_cert, "--tlskey", pki.other_client_key, "version"})));
  // The refusal is per connection: a good client still gets in afterwards.
  EXPECT_TRUE(version_round_trip(
      run_klee({"--host", https_host(), "--tlsverify", "--tlscacert", pki.ca_cert, "--tlscert",
                pki.client_cert, "--tlskey", pki.client_key, "version"})));
}

TEST_F(TlsTest, TlsSettingsFromEnvironment) {
  listen_https(true);
  ASSERT_TRUE(daemon.start());
  EXPECT_TRUE(version_round_trip(run_klee({"version"}, {{"KLEE_HOST", https_host()},
                                                        {"KLEE_TLS_VERIFY", "true"},
                                                        {"KLEE_TLS_CACERT", pki.ca_cert},
                                                        {"KLEE_TLS_CERT", pki.client_cert},
                                                        {"KLEE_TLS_KEY", pki.client_key}})));
}

}  // namespace
}  // namespace kleene::it
