// kleened's YAML config: defaults, Kleene's own file, and every error naming key and file.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "config/config.hpp"

namespace kleene::config {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kleene-config-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    write(dir_ / "cert.pem", "cert");
    write(dir_ / "key.pem", "key");
    write(dir_ / "ca.pem", "ca");
  }
  void TearDown() override { fs::remove_all(dir_); }

  static void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

  Result<DaemonConfig> parse(const std::string& yaml) { return parse_config(yaml, "/etc/k.yaml"); }

  // The error message for a YAML text; fails the test if it parsed.
  std::string error_of(const std::string& yaml) {
    auto result = parse(yaml);
    EXPECT_FALSE(result.has_value()) << yaml;
    return result ? std::string() : result.error().message;
  }

  fs::path dir_;
};

TEST_F(ConfigTest, DefaultsWhenEmpty) {
  for (const char* text : {"", "---\n", "# only a comment\n"}) {
    auto config = parse(text);
    ASSERT_TRUE(config) << config.error().message;
    EXPECT_EQ(config->kleene_root, "zroot/kleene");
    ASSERT_EQ(config->api_listening_sockets.size(), 1u);
    EXPECT_EQ(config->api_listening_sockets[0].address, "http:///var/run/kleened.sock");
    EXPECT_EQ(std::get<UnixAddress>(config->api_listening_sockets[0].endpoint).path,
              "/var/run/kleened.sock");
    EXPECT_TRUE(config->enable_logging);
    EXPECT_EQ(config->log_level, LogLevel::info);
    EXPECT_EQ(config->plugin_dirs, std::vector<fs::path>{"/usr/local/lib/kleene/plugins"});
    EXPECT_EQ(config->plugins, nlohmann::json::object());
    EXPECT_EQ(config->log_file, "/var/log/kleened.log");
    EXPECT_EQ(config->run_dir, "/var/run/kleened");
    EXPECT_EQ(config->pidfile, "/var/run/kleened.pid");
    EXPECT_EQ(config->metadata_db, "/var/lib/kleene/metadata.sqlite");
    EXPECT_EQ(config->max_request_body, 8u * 1024 * 1024);
  }
}

TEST_F(ConfigTest, MissingDefaultFileIsFineExplicitIsNot) {
  auto defaults = load_config(dir_ / "absent.yaml", false);
  ASSERT_TRUE(defaults);
  EXPECT_EQ(defaults->api_listening_sockets.size(), 1u);
  auto explicit_missing = load_config(dir_ / "absent.yaml", true);
  ASSERT_FALSE(explicit_missing);
  EXPECT_NE(explicit_missing.error().message.find((dir_ / "absent.yaml").string()),
            std::string::npos);
}

// Kleene's example/kleened_config.yaml, verbatim in its keys and layout.
TEST_F(ConfigTest, KleeneConfigLoads) {
  const std::string kleene = R"(---
# Root ZFS dataset where Kleened stores images, containers, and volumes. Must be set.
kleene_root: "zroot/kleene"
pf_config_template_path: "/usr/local/etc/kleened/pf.conf.kleene"
pf_config_path: "/etc/pf.conf"
api_listening_sockets:
    - address: "http:///var/run/kleened.sock"
enable_logging: true
log_level: "info"
)";
  write(dir_ / "kleened_config.yaml", kleene);
  auto config = load_config(dir_ / "kleened_config.yaml", true);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->source, dir_ / "kleened_config.yaml");
  EXPECT_EQ(config->kleene_root, "zroot/kleene");
  EXPECT_EQ(config->ignored_keys,
            (std::vector<std::string>{"pf_config_template_path", "pf_config_path"}));
  EXPECT_EQ(config->api_listening_sockets[0].address, "http:///var/run/kleened.sock");
}

TEST_F(ConfigTest, AllKeysAndAddressForms) {
  const std::string yaml =
      "kleene_root: tank/kl\n"
      "enable_logging: false\n"
      "log_level: notice\n"
      "plugin_dirs: [/opt/p1, /opt/p2/]\n"
      "plugins:\n  vnet: {bridge: kl0, mtu: 1500, ipv6: true, x: \"1\"}\n"
      "  zfs:\n"
      "log_file: /tmp/kl.log\nrun_dir: /tmp/klrun\npidfile: /tmp/kl.pid\n"
      "metadata_db: /tmp/kl.sqlite\nmax_request_body: 1024\n"
      "api_listening_sockets:\n"
      "  - http:///tmp/kl.sock\n"
      "  - address: http://127.0.0.1:0\n"
      "  - address: http://[::1]:8085\n"
      "  - address: https://0.0.0.0:8443\n"
      "    tlscert: " +
      (dir_ / "cert.pem").string() +
      "\n"
      "    tlskey: " +
      (dir_ / "key.pem").string() +
      "\n"
      "  - address: https:///tmp/kls.sock\n"
      "    tlscert: " +
      (dir_ / "cert.pem").string() +
      "\n"
      "    tlskey: " +
      (dir_ / "key.pem").string() +
      "\n"
      "    tlscacert: " +
      (dir_ / "ca.pem").string() +
      "\n"
      "    tlsverify: true\n";
  auto config = parse(yaml);
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->kleene_root, "tank/kl");
  EXPECT_FALSE(config->enable_logging);
  EXPECT_EQ(config->log_level, LogLevel::notice);
  EXPECT_EQ(config->plugin_dirs, (std::vector<fs::path>{"/opt/p1", "/opt/p2/"}));
  EXPECT_EQ(config->plugins["vnet"],
            (nlohmann::json{{"bridge", "kl0"}, {"mtu", 1500}, {"ipv6", true}, {"x", "1"}}));
  EXPECT_EQ(config->plugins["zfs"], nlohmann::json::object());
  EXPECT_EQ(config->max_request_body, 1024u);
  EXPECT_EQ(config->metadata_db, "/tmp/kl.sqlite");
  const auto& s = config->api_listening_sockets;
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(std::get<UnixAddress>(s[0].endpoint).path, "/tmp/kl.sock");
  EXPECT_FALSE(s[0].tls);
  EXPECT_EQ(std::get<TcpAddress>(s[1].endpoint), (TcpAddress{"127.0.0.1", 0, false}));
  EXPECT_EQ(std::get<TcpAddress>(s[2].endpoint), (TcpAddress{"::1", 8085, true}));
  EXPECT_TRUE(s[3].tls);
  EXPECT_FALSE(s[3].tls_options.verify);
  EXPECT_EQ(s[3].tls_options.cert, dir_ / "cert.pem");
  EXPECT_TRUE(s[4].tls);
  EXPECT_TRUE(s[4].tls_options.verify);
  EXPECT_EQ(s[4].tls_options.cacert, dir_ / "ca.pem");
  EXPECT_EQ(to_url(s[2].endpoint, true), "https://[::1]:8085");
  EXPECT_EQ(to_url(s[0].endpoint, false), "http:///tmp/kl.sock");
}

TEST_F(ConfigTest, UnknownKeyIsNamed) {
  auto message = error_of("kleene_root: a\nlisten_sockets: []\n");
  EXPECT_EQ(message, "config /etc/k.yaml: listen_sockets: unknown key");
  message = error_of("api_listening_sockets:\n  - address: http:///x.sock\n    tlsverfy: true\n");
  EXPECT_EQ(message, "config /etc/k.yaml: api_listening_sockets[0].tlsverfy: unknown key");
}

TEST_F(ConfigTest, WrongTypes) {
  EXPECT_EQ(error_of("enable_logging: \"true\"\n"),
            "config /etc/k.yaml: enable_logging: expected a boolean (true or false)");
  EXPECT_EQ(error_of("enable_logging: maybe\n"),
            "config /etc/k.yaml: enable_logging: expected a boolean (true or false)");
  EXPECT_EQ(error_of("kleene_root: [a, b]\n"),
            "config /etc/k.yaml: kleene_root: expected a string");
  EXPECT_EQ(error_of("api_listening_sockets: http:///x.sock\n"),
            "config /etc/k.yaml: api_listening_sockets: expected a list of sockets");
  EXPECT_EQ(error_of("plugin_dirs: /opt\n"),
            "config /etc/k.yaml: plugin_dirs: expected a list of directories");
  EXPECT_EQ(error_of("plugin_dirs: [relative]\n"),
            "config /etc/k.yaml: plugin_dirs[0]: expected an absolute path");
  EXPECT_EQ(error_of("plugins: [a]\n"),
            "config /etc/k.yaml: plugins: expected a map of plugin name to its settings");
  EXPECT_EQ(error_of("max_request_body: big\n"),
            "config /etc/k.yaml: max_request_body: expected a positive number of bytes");
  EXPECT_EQ(error_of("log_file: log.txt\n"),
            "config /etc/k.yaml: log_file: expected an absolute path");
  EXPECT_EQ(error_of("- a\n- b\n"), "config /etc/k.yaml: expected a map of keys at the top level");
  EXPECT_NE(error_of("a: [unclosed\n").find("config /etc/k.yaml: line "), std::string::npos);
}

// Plugin settings go through YAML -> JSON, where an alias is a copy: a self-referencing alias
// (found by fuzz_config: it overflowed the stack) and an exponential one are refused by name;
// an ordinary alias is copied.
TEST_F(ConfigTest, PluginSettingsAliasesAreBounded) {
  auto shared = parse("plugins:\n  vnet: &s {mtu: 1500, tags: [a, b]}\n  host: *s\n");
  ASSERT_TRUE(shared) << shared.error().message;
  EXPECT_EQ(shared->plugins["host"], shared->plugins["vnet"]);
  EXPECT_EQ(shared->plugins["host"]["tags"], (nlohmann::json{"a", "b"}));

  EXPECT_EQ(error_of("plugins:\n  zfs: &x {k: v, y: *x}\n"),
            "config /etc/k.yaml: plugins.zfs: nested deeper than 64 levels (a recursive alias?)");
  EXPECT_EQ(error_of("plugins:\n  zfs: &x {a: [b, *x]}\n"),
            "config /etc/k.yaml: plugins.zfs: nested deeper than 64 levels (a recursive alias?)");
  // Nine levels of ten aliases each: 10^9 values once expanded.
  std::string laughs = "plugins:\n  zfs:\n    l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n";
  for (int level = 1; level < 9; ++level) {
    const std::string previous = "*l" + std::to_string(level - 1);
    laughs += "    l" + std::to_string(level) + ": &l" + std::to_string(level) + " [";
    for (int i = 0; i < 10; ++i)
      laughs += (i == 0 ? "" : ", ") + previous;
    laughs += "]\n";
  }
  EXPECT_EQ(error_of(laughs),
            "config /etc/k.yaml: plugins.zfs: more than 100000 values once "
            "aliases are expanded");
  // Few values, much text: a 100 KB scalar used 200 times.
  std::string wide = "plugins:\n  zfs:\n    a: &a " + std::string(100'000, 'a') + "\n    b: [";
  for (int i = 0; i < 200; ++i)
    wide += (i == 0 ? "*a" : ", *a");
  EXPECT_EQ(error_of(wide + "]\n"),
            "config /etc/k.yaml: plugins.zfs: more than 16 MiB of text once "
            "aliases are expanded");
  // Deep nesting without aliases: 64 levels parse, 65 do not.
  const auto nested = [](int levels) {
    return "plugins:\n  zfs: {k: " + std::string(levels - 1, '[') + "x" +
           std::string(levels - 1, ']') + "}\n";
  };
  EXPECT_TRUE(parse(nested(64)));
  EXPECT_EQ(error_of(nested(65)),
            "config /etc/k.yaml: plugins.zfs: nested deeper than 64 levels (a recursive alias?)");
}

TEST_F(ConfigTest, BadLogLevel) {
  EXPECT_EQ(error_of("log_level: loud\n"),
            "config /etc/k.yaml: log_level: unknown level 'loud' (debug, info, notice, warning, "
            "error)");
  for (const char* level : {"debug", "info", "notice", "warning", "error", "critical"})
    EXPECT_TRUE(parse(std::string("log_level: ") + level + "\n")) << level;
}

TEST_F(ConfigTest, BadAddresses) {
  const char* bad[] = {"ftp://1.2.3.4:1",
                       "http://1.2.3.4",
                       "http://[::1]",
                       "http://[::1:80",
                       "http://localhost:80",
                       "http://1.2.3.4:99999",
                       "http://1.2.3.4:x",
                       "http://",
                       "http:///",
                       "http://[1.2.3.4]:80",
                       "http://1.2.3.4:80?a=b",
                       "http://u@1.2.3.4:80",
                       "unix:///var/run/x.sock",
                       "/var/run/x.sock"};
  for (const char* address : bad) {
    auto message =
        error_of(std::string("api_listening_sockets:\n  - address: \"") + address + "\"\n");
    EXPECT_EQ(message.rfind("config /etc/k.yaml: api_listening_sockets[0].address: invalid "
                            "address '" +
                                std::string(address) + "': ",
                            0),
              0u)
        << message;
  }
  EXPECT_EQ(error_of("api_listening_sockets: []\n"),
            "config /etc/k.yaml: api_listening_sockets: at least one socket is required");
  EXPECT_EQ(error_of("api_listening_sockets:\n  - tlsverify: false\n"),
            "config /etc/k.yaml: api_listening_sockets[0].address: missing (every socket needs "
            "an address)");
  EXPECT_EQ(error_of("api_listening_sockets: [http:///a.sock, \"http:///a.sock\"]\n"),
            "config /etc/k.yaml: api_listening_sockets[1]: duplicate address http:///a.sock");
}

TEST_F(ConfigTest, TlsRequirements) {
  const std::string cert = "    tlscert: " + (dir_ / "cert.pem").string() + "\n";
  const std::string key = "    tlskey: " + (dir_ / "key.pem").string() + "\n";
  const std::string head =
      "api_listening_sockets:\n  - http:///ok.sock\n  - address: https://127.0.0.1:1\n";
  EXPECT_EQ(error_of(head + key),
            "config /etc/k.yaml: api_listening_sockets[1].tlscert: required for an https:// "
            "address");
  // The shorthand cannot carry a certificate (tests/fuzz/crashes/config-https-shorthand.yaml).
  EXPECT_EQ(error_of("api_listening_sockets:\n  - https://127.0.0.1:8443\n"),
            "config /etc/k.yaml: api_listening_sockets[0].tlscert: required for an https:// "
            "address (use a map with 'address', 'tlscert' and 'tlskey')");
  EXPECT_EQ(error_of(head + cert),
            "config /etc/k.yaml: api_listening_sockets[1].tlskey: required for an https:// "
            "address");
  EXPECT_EQ(error_of(head + cert + key + "    tlsverify: true\n"),
            "config /etc/k.yaml: api_listening_sockets[1].tlscacert: required when tlsverify is "
            "true");
  EXPECT_EQ(error_of(head + cert + key + "    tlsverify: 1x\n"),
            "config /etc/k.yaml: api_listening_sockets[1].tlsverify: expected a boolean (true or "
            "false)");
  EXPECT_EQ(
      error_of("api_listening_sockets:\n  - address: http://127.0.0.1:1\n    tlsverify: true\n"),
      "config /etc/k.yaml: api_listening_sockets[0].tlsverify: requires an https:// address");
}

TEST_F(ConfigTest, MissingTlsFileNamedWithPath) {
  const std::string yaml =
      "api_listening_sockets:\n  - http:///ok.sock\n"
      "  - address: https://127.0.0.1:1\n"
      "    tlscert: /x/cert.pem\n"
      "    tlskey: " +
      (dir_ / "key.pem").string() + "\n";
  EXPECT_EQ(error_of(yaml),
            "config /etc/k.yaml: api_listening_sockets[1].tlscert: cannot read /x/cert.pem: No "
            "such file or directory");
  const std::string dir_as_key =
      "api_listening_sockets:\n  - address: https:///s.sock\n"
      "    tlscert: " +
      (dir_ / "cert.pem").string() +
      "\n"
      "    tlskey: " +
      dir_.string() + "\n";
  EXPECT_EQ(error_of(dir_as_key),
            "config /etc/k.yaml: api_listening_sockets[0].tlskey: cannot read " + dir_.string() +
                ": not a regular file");
}

TEST(LogLevel, RoundTrip) {
  EXPECT_EQ(parse_log_level("warning"), LogLevel::warning);
  EXPECT_EQ(parse_log_level("emergency"), LogLevel::critical);
  EXPECT_EQ(parse_log_level("verbose"), std::nullopt);
  EXPECT_EQ(to_string(LogLevel::notice), "notice");
}

TEST_F(ConfigTest, ContainerKeys) {
  auto defaults = parse_config("", "x.yaml");
  ASSERT_TRUE(defaults) << defaults.error().message;
  EXPECT_EQ(defaults->stop_timeout, std::chrono::seconds(10));
  EXPECT_TRUE(defaults->keeper_path.is_absolute());
  EXPECT_EQ(defaults->keeper_path.filename(), "kleene-keeper");

  auto set = parse_config("keeper_path: /opt/k/keeper\nstop_timeout: 0.5\n", "x.yaml");
  ASSERT_TRUE(set) << set.error().message;
  EXPECT_EQ(set->keeper_path, "/opt/k/keeper");
  EXPECT_EQ(set->stop_timeout, std::chrono::milliseconds(500));

  for (const char* bad : {"stop_timeout: -1\n", "stop_timeout: 3601\n", "stop_timeout: x\n",
                          "keeper_path: relative/keeper\n"}) {
    auto result = parse_config(bad, "x.yaml");
    EXPECT_FALSE(result) << bad;
  }
}

}  // namespace
}  // namespace kleene::config
