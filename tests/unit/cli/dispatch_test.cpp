// klee's command line in-process: help, usage errors, configuration errors.
#include <gtest/gtest.h>

#include <sstream>

#include "app.hpp"
#include "commands/all.hpp"
#include "test_support.hpp"

namespace klee {
namespace {

struct Run {
  int code;
  std::string out, err;
};

Run klee(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  // HOME points nowhere so that a developer's ~/.klee/klee_config.yaml cannot interfere.
  env.emplace("HOME", "/nonexistent-kleene-home");
  std::ostringstream out, err;
  int code = run_klee(args, test::fake_env(env), out, err);
  return {code, out.str(), err.str()};
}

TEST(Dispatch, VersionFlagUsesClickFormat) {
  auto r = klee({"--version"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "klee, version " KLEE_VERSION "\n");
}

TEST(Dispatch, NoCommandPrintsHelp) {
  for (auto args : {std::vector<std::string>{}, std::vector<std::string>{"--help"}}) {
    auto r = klee(args);
    EXPECT_EQ(r.code, 0);
    EXPECT_TRUE(r.out.starts_with("Usage: klee [OPTIONS] COMMAND [ARGS]...")) << r.out;
    EXPECT_NE(r.out.find("--tlscacert"), std::string::npos);
    EXPECT_NE(r.out.find("plugin"), std::string::npos);
    EXPECT_NE(r.out.find("version"), std::string::npos);
  }
}

TEST(Dispatch, UnknownCommandIsClickUsageError) {
  auto r = klee({"x"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err,
            "Usage: klee [OPTIONS] COMMAND [ARGS]...\nTry 'klee --help' for help.\n\n"
            "Error: No such command 'x'.\n");
  r = klee({"plugin", "frobnicate"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("Usage: klee plugin [OPTIONS] COMMAND [ARGS]..."), std::string::npos);
  EXPECT_NE(r.err.find("Error: No such command 'frobnicate'."), std::string::npos);
}

TEST(Dispatch, UnknownOptions) {
  auto r = klee({"--frob", "version"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("Error: No such option: --frob"), std::string::npos);
  r = klee({"plugin", "ls", "--frob"});
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("Try 'klee plugin ls --help' for help."), std::string::npos);
  EXPECT_NE(r.err.find("Error: No such option: --frob"), std::string::npos);
  r = klee({"version", "extra"});
  EXPECT_EQ(r.code, 2);
}

TEST(Dispatch, GroupAndCommandHelp) {
  auto r = klee({"plugin"});
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(r.out.starts_with("Usage: klee plugin [OPTIONS] COMMAND [ARGS]...")) << r.out;
  EXPECT_NE(r.out.find("ls"), std::string::npos);
  r = klee({"plugin", "list", "--help"});
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(r.out.starts_with("Usage: klee plugin list [OPTIONS]")) << r.out;
  EXPECT_NE(r.out.find("--format"), std::string::npos);
}

TEST(Dispatch, ConfigErrorsExitTwoBeforeConnecting) {
  test::TempDir dir;
  dir.write("bad.yaml", "colour: red\n");
  auto r = klee({"--config", dir.file("bad.yaml"), "version"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "Error! Config file " + dir.file("bad.yaml") +
                       " is not valid: parameter name 'colour' unknown\n");
  r = klee({"version"}, {{"KLEE_CONFIG", dir.file("bad.yaml")}});
  EXPECT_EQ(r.code, 2);
}

TEST(Dispatch, TlsCertWithoutKeyIsRefused) {
  auto r = klee({"--host", "https://127.0.0.1:1", "--tlscert", "/x.pem", "plugin", "ls"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "When '--tlscert' is set you must also provide the '--tlskey'\n");
}

TEST(Dispatch, BadHostIsAConnectError) {
  auto r = klee({"--host", "htyp:///var/sock", "plugin", "ls"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err,
            "unable to connect to kleened: Request URL has an unsupported protocol 'htyp://'.\n");
}

TEST(Dispatch, EveryCommandHasASummaryAndRun) {
  for (const auto& c : builtin_registry().commands()) {
    EXPECT_FALSE(c.summary.empty());
    EXPECT_TRUE(static_cast<bool>(c.run));
  }
}

}  // namespace
}  // namespace klee
