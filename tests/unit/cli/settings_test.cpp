#include <gtest/gtest.h>

#include "options/config_file.hpp"
#include "options/global_options.hpp"
#include "options/settings.hpp"
#include "test_support.hpp"

namespace klee {
namespace {

using test::fake_env;
using test::TempDir;

RootArgs parse(std::vector<std::string> args) {
  auto root = parse_root_args(args);
  EXPECT_TRUE(root) << root.error().message;
  return root ? *root : RootArgs{};
}

TEST(RootArgs, SplitsRootOptionsFromTheCommand) {
  auto root =
      parse({"--host", "http://1.2.3.4:80", "--theme=simple", "plugin", "ls", "--format", "json"});
  EXPECT_EQ(root.flags.host, "http://1.2.3.4:80");
  EXPECT_EQ(root.flags.theme, "simple");
  EXPECT_EQ(root.command, (std::vector<std::string>{"plugin", "ls", "--format", "json"}));
}

TEST(RootArgs, LastTlsVerifySwitchWins) {
  EXPECT_EQ(parse({"--tlsverify", "--no-tlsverify", "version"}).flags.tlsverify, false);
  EXPECT_EQ(parse({"--no-tlsverify", "--tlsverify", "version"}).flags.tlsverify, true);
  EXPECT_FALSE(parse({"version"}).flags.tlsverify.has_value());
}

TEST(RootArgs, UnknownOrIncompleteOptionsAreErrors) {
  std::vector<std::string> unknown{"--nope", "version"};
  auto root = parse_root_args(unknown);
  ASSERT_FALSE(root);
  EXPECT_EQ(root.error().message, "No such option: --nope");
  std::vector<std::string> missing{"--host"};
  EXPECT_FALSE(parse_root_args(missing));
  std::vector<std::string> abbreviated{"--hos", "x", "version"};
  EXPECT_FALSE(parse_root_args(abbreviated));
}

TEST(RootArgs, ShortOptionsAreLookedUpWithTheirDash) {
  std::vector<std::string> help{"-h"};
  EXPECT_TRUE(parse_root_args(help));
  std::vector<std::string> unknown{"-x", "version"};
  auto root = parse_root_args(unknown);
  ASSERT_FALSE(root);
  EXPECT_EQ(root.error().message, "No such option: -x");
}

TEST(Settings, DefaultsWithoutAnything) {
  auto s = resolve_settings({}, fake_env({}), {});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->host, "http:///var/run/kleened.sock");
  EXPECT_EQ(s->theme, Theme::fancy);
  EXPECT_TRUE(s->verify_server());
  EXPECT_FALSE(s->tlscert);
  EXPECT_TRUE(s->config_path.empty());
}

TEST(Settings, FlagBeatsEnvBeatsFileBeatsDefault) {
  TempDir dir;
  dir.write("klee_config.yaml",
            "host: http://10.0.0.1:1\ntheme: simple\ntlsverify: false\ntlscert: /file/cert\n"
            "tlskey: /file/key\ntlscacert: /file/ca\n");
  const std::vector<std::string> search{dir.file("klee_config.yaml")};

  auto file_only = resolve_settings({}, fake_env({}), search);
  ASSERT_TRUE(file_only) << file_only.error().message;
  EXPECT_EQ(file_only->host, "http://10.0.0.1:1");
  EXPECT_EQ(file_only->theme, Theme::simple);
  EXPECT_EQ(file_only->tlsverify, false);
  EXPECT_EQ(file_only->tlscacert, "/file/ca");
  EXPECT_EQ(file_only->config_path, dir.file("klee_config.yaml"));

  auto env = fake_env({{"KLEE_HOST", "http://10.0.0.2:2"},
                       {"KLEE_THEME", "fancy"},
                       {"KLEE_TLS_VERIFY", "true"},
                       {"KLEE_TLS_CERT", "/env/cert"},
                       {"KLEE_TLS_KEY", "/env/key"},
                       {"KLEE_TLS_CACERT", "/env/ca"}});
  auto env_wins = resolve_settings({}, env, search);
  ASSERT_TRUE(env_wins);
  EXPECT_EQ(env_wins->host, "http://10.0.0.2:2");
  EXPECT_EQ(env_wins->theme, Theme::fancy);
  EXPECT_EQ(env_wins->tlsverify, true);
  EXPECT_EQ(env_wins->tlscert, "/env/cert");
  EXPECT_EQ(env_wins->tlskey, "/env/key");
  EXPECT_EQ(env_wins->tlscacert, "/env/ca");

  GlobalFlags flags;
  flags.host = "http://10.0.0.3:3";
  flags.theme = "simple";
  flags.tlsverify = false;
  flags.tlscacert = "/flag/ca";
  auto flag_wins = resolve_settings(flags, env, search);
  ASSERT_TRUE(flag_wins);
  EXPECT_EQ(flag_wins->host, "http://10.0.0.3:3");
  EXPECT_EQ(flag_wins->theme, Theme::simple);
  EXPECT_EQ(flag_wins->tlsverify, false);
  EXPECT_EQ(flag_wins->tlscacert, "/flag/ca");
  EXPECT_EQ(flag_wins->tlscert, "/env/cert");  // not given as a flag: the env still counts
}

TEST(Settings, ConfigFileSelection) {
  TempDir dir;
  dir.write("first.yaml", "host: http://10.0.0.1:1\n");
  dir.write("second.yaml", "host: http://10.0.0.2:2\n");
  dir.write("custom.yaml", "host: http://10.0.0.9:9\n");
  const std::vector<std::string> search{dir.file("missing.yaml"), dir.file("first.yaml"),
                                        dir.file("second.yaml")};

  auto searched = resolve_settings({}, fake_env({}), search);
  ASSERT_TRUE(searched);
  EXPECT_EQ(searched->host, "http://10.0.0.1:1");  // the first file that exists

  auto by_env = resolve_settings({}, fake_env({{"KLEE_CONFIG", dir.file("second.yaml")}}), search);
  ASSERT_TRUE(by_env);
  EXPECT_EQ(by_env->host, "http://10.0.0.2:2");

  GlobalFlags flags;
  flags.config = dir.file("custom.yaml");
  auto by_flag =
      resolve_settings(flags, fake_env({{"KLEE_CONFIG", dir.file("second.yaml")}}), search);
  ASSERT_TRUE(by_flag);
  EXPECT_EQ(by_flag->host, "http://10.0.0.9:9");

  flags.config = dir.file("missing.yaml");
  auto missing = resolve_settings(flags, fake_env({}), search);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find(dir.file("missing.yaml")), std::string::npos);
}

TEST(Settings, UnknownConfigKeyNamesKeyAndFile) {
  TempDir dir;
  dir.write("klee_config.yaml", "host: http:///var/run/kleened.sock\nnonexistingparameter: test\n");
  auto s = resolve_settings({}, fake_env({}), {dir.file("klee_config.yaml")});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "Error! Config file " + dir.file("klee_config.yaml") +
                                   " is not valid: parameter name 'nonexistingparameter' unknown");
}

TEST(Settings, BadValuesAreErrors) {
  TempDir dir;
  dir.write("bool.yaml", "tlsverify: maybe\n");
  dir.write("list.yaml", "host: [a, b]\n");
  dir.write("theme.yaml", "theme: loud\n");
  dir.write("syntax.yaml", "host: [unclosed\n");
  dir.write("scalar.yaml", "just a string\n");
  for (const char* name : {"bool.yaml", "list.yaml", "theme.yaml", "syntax.yaml", "scalar.yaml"}) {
    auto s = resolve_settings({}, fake_env({}), {dir.file(name)});
    ASSERT_FALSE(s) << name;
    EXPECT_NE(s.error().message.find(dir.file(name)), std::string::npos) << s.error().message;
  }
  auto bad_env = resolve_settings({}, fake_env({{"KLEE_TLS_VERIFY", "perhaps"}}), {});
  ASSERT_FALSE(bad_env);
  EXPECT_NE(bad_env.error().message.find("KLEE_TLS_VERIFY"), std::string::npos);

  GlobalFlags flags;
  flags.theme = "neon";
  auto bad_flag = resolve_settings(flags, fake_env({}), {});
  ASSERT_FALSE(bad_flag);
  EXPECT_NE(bad_flag.error().message.find("'neon' is not one of 'fancy', 'simple'"),
            std::string::npos);
}

TEST(Settings, EmptyConfigFileIsFine) {
  TempDir dir;
  dir.write("klee_config.yaml", "");
  auto s = resolve_settings({}, fake_env({}), {dir.file("klee_config.yaml")});
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->host, "http:///var/run/kleened.sock");
}

TEST(Settings, DefaultSearchOrderIsKleenes) {
  EXPECT_EQ(default_config_locations(std::string("/home/u")),
            (std::vector<std::string>{"klee_config.yaml", "/home/u/.klee/klee_config.yaml",
                                      "/etc/klee/klee_config.yaml"}));
  EXPECT_EQ(default_config_locations(std::nullopt),
            (std::vector<std::string>{"klee_config.yaml", "/etc/klee/klee_config.yaml"}));
}

}  // namespace
}  // namespace klee
