// The installed shape: the klee executable itself, its streams and exit codes.
#include <gtest/gtest.h>

#include "test_server.hpp"
#include "test_support.hpp"

namespace klee {
namespace {

using test::run_process;
using test::TempDir;

const std::vector<std::string> kEnv = {"HOME=/nonexistent-kleene-home", "PATH=/usr/bin:/bin"};

TEST(KleeBinary, UnreachableDaemon) {
  TempDir dir;
  const std::string host = "http://" + dir.file("kleened.sock");
  auto r = run_process({KLEE_BINARY, "--host", host, "plugin", "ls"}, kEnv);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "unable to connect to kleened: No such file or directory (" + host + ")\n");
}

TEST(KleeBinary, VersionPrintsClientBlockThenTheError) {
  TempDir dir;
  auto env = kEnv;
  env.push_back("KLEE_HOST=http://" + dir.file("kleened.sock"));
  auto r = run_process({KLEE_BINARY, "version"}, env);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.out.starts_with("Client:\n Version:     " KLEE_VERSION "\n")) << r.out;
  EXPECT_EQ(r.out.find("Server:"), std::string::npos);
  EXPECT_TRUE(r.err.starts_with("unable to connect to kleened: ")) << r.err;
}

TEST(KleeBinary, TalksToServer) {
  TempDir dir;
  auto server = test::TestServer::on_unix_socket(dir.file("kleened.sock"));
  auto r = run_process({KLEE_BINARY, "--host", server->url(), "--theme", "simple", "plugin", "ls"},
                       kEnv);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.out.starts_with(" NAME | KIND    | VERSION | ABI | CAPABILITIES")) << r.out;
  EXPECT_NE(r.out.find(" vnet | network | 0.1.0   | 1.0 | connect_while_running,own_netns,bridge"),
            std::string::npos)
      << r.out;
}

TEST(KleeBinary, UsageErrorsExitTwoOnStderr) {
  auto r = run_process({KLEE_BINARY, "frobnicate"}, kEnv);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("Error: No such command 'frobnicate'."), std::string::npos);
}

}  // namespace
}  // namespace klee
