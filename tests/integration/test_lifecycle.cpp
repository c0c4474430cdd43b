// kleened's process life: sockets, pidfile, signals, config errors, daemon mode.
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>

#include "common.hpp"

namespace kleene::it {
namespace {

namespace fs = std::filesystem;

mode_t file_mode(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return 0;
  return st.st_mode;
}

// kleened's own words about a refused start: the ready line's error and its stderr.
std::string explanation(const LaunchOutcome& outcome, const DaemonProcess& daemon) {
  return outcome.error + "\n" + daemon.stderr_text();
}

TEST_F(KleenedTest, UnixSocketIsMode0600) {
  ASSERT_TRUE(daemon.start());
  mode_t mode = file_mode(daemon.socket_path());
  EXPECT_TRUE(S_ISSOCK(mode));
  EXPECT_EQ(mode & 07777, 0600u) << std::oct << (mode & 07777);
}

TEST_F(KleenedTest, PidfileHoldsThePid) {
  ASSERT_TRUE(daemon.start());
  std::string text = read_file(daemon.pidfile());
  EXPECT_EQ(std::stoi(text), daemon.pid()) << text;
  EXPECT_EQ(file_mode(daemon.pidfile()) & 07777, 0644u);
}

TEST_F(KleenedTest, SigtermRemovesSocketAndPidfileAndExitsZero) {
  daemon.config()["api_listening_sockets"].push_back(json{{"address", "http://127.0.0.1:0"}});
  ASSERT_TRUE(daemon.start());
  ASSERT_TRUE(fs::exists(daemon.socket_path()));
  ASSERT_TRUE(fs::exists(daemon.pidfile()));
  ASSERT_TRUE(daemon.stop(0));
  EXPECT_FALSE(fs::exists(daemon.socket_path()));
  EXPECT_FALSE(fs::exists(daemon.pidfile()));
}

TEST_F(KleenedTest, SigintAlsoShutsDownCleanly) {
  ASSERT_TRUE(daemon.start());
  pid_t pid = daemon.pid();
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  // stop() sends SIGTERM as well; a daemon already on its way out must still exit 0.
  EXPECT_TRUE(daemon.stop(0));
  EXPECT_FALSE(fs::exists(daemon.socket_path()));
}

TEST_F(KleenedTest, SecondKleenedWithTheSamePidfileIsRefused) {
  ASSERT_TRUE(daemon.start());
  DaemonProcess second(dir, "kleened-second");
  second.config()["pidfile"] = daemon.pidfile();
  LaunchOutcome outcome = second.launch();
  ASSERT_FALSE(outcome.ready) << "a second kleened started on the same pidfile";
  EXPECT_EQ(outcome.exit_code, 1) << explanation(outcome, second);
  EXPECT_TRUE(contains(explanation(outcome, second), daemon.pidfile()))
      << explanation(outcome, second);
  // The first one is untouched.
  EXPECT_EQ(std::stoi(read_file(daemon.pidfile())), daemon.pid());
  EXPECT_TRUE(version_round_trip(run_klee({"--host", unix_host(), "version"})));
}

TEST_F(KleenedTest, UnknownConfigKeyExits2NamingTheKey) {
  daemon.config()["kleene_bogus_key"] = 1;
  LaunchOutcome outcome = daemon.launch();
  ASSERT_FALSE(outcome.ready);
  EXPECT_EQ(outcome.exit_code, 2) << explanation(outcome, daemon);
  EXPECT_TRUE(contains(explanation(outcome, daemon), "kleene_bogus_key"))
      << explanation(outcome, daemon);
  EXPECT_FALSE(fs::exists(daemon.socket_path()));
}

TEST_F(KleenedTest, MissingTlsFileNamesTheKeyAndTheFile) {
  std::string missing = dir.file("kleene-missing-cert.pem");
  daemon.config()["api_listening_sockets"].push_back(
      json{{"address", "https://127.0.0.1:0"}, {"tlscert", missing}, {"tlskey", missing}});
  LaunchOutcome outcome = daemon.launch();
  ASSERT_FALSE(outcome.ready);
  EXPECT_EQ(outcome.exit_code, 2) << explanation(outcome, daemon);
  std::string why = explanation(outcome, daemon);
  EXPECT_TRUE(contains(why, "api_listening_sockets[1].tlscert")) << why;
  EXPECT_TRUE(contains(why, missing)) << why;
}

TEST_F(KleenedTest, BadAddressNamesTheKey) {
  daemon.config()["api_listening_sockets"] = json::array({json{{"address", "gopher://x"}}});
  LaunchOutcome outcome = daemon.launch();
  ASSERT_FALSE(outcome.ready);
  EXPECT_EQ(outcome.exit_code, 2) << explanation(outcome, daemon);
  EXPECT_TRUE(contains(explanation(outcome, daemon), "api_listening_sockets[0]"))
      << explanation(outcome, daemon);
}

TEST_F(KleenedTest, MissingExplicitConfigFileExits2) {
  std::string missing = dir.file("kleene-no-such-config.yaml");
  ProcessResult r = run_command({paths::kleened(), "--config", missing}, test_environment(),
                                std::chrono::seconds(20));
  EXPECT_EQ(r.exit_code, 2) << describe(r);
  EXPECT_TRUE(contains(r.err, missing)) << describe(r);
}

TEST_F(KleenedTest, VersionFlag) {
  ProcessResult r = run_command({paths::kleened(), "--version"}, test_environment());
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, paths::version())) << describe(r);
}

TEST_F(KleenedTest, KleeAgainstADeadSocket) {
  EXPECT_TRUE(refused_connection(run_klee({"--host", unix_host(), "version"})));
  // Also once a daemon has been there and gone.
  ASSERT_TRUE(daemon.start());
  ASSERT_TRUE(daemon.stop());
  EXPECT_TRUE(refused_connection(run_klee({"--host", unix_host(), "plugin", "ls"})));
}

TEST_F(KleenedTest, KleeAgainstAClosedTcpPort) {
  daemon.config()["api_listening_sockets"] = json::array({json{{"address", "http://127.0.0.1:0"}}});
  ASSERT_TRUE(daemon.start());
  std::string tcp = daemon.address("http://127.0.0.1:");
  ASSERT_TRUE(daemon.stop());
  EXPECT_TRUE(refused_connection(run_klee({"--host", tcp, "version"})));
}

// `kleened --daemon` returns only once it listens, so a script can chain klee right after it.
TEST_F(KleenedTest, DaemonModeReturnsOnceListening) {
  daemon.config()["log_level"] = "info";
  write_file(daemon.config_path(), to_yaml(daemon.config()));
  ProcessResult started =
      run_command({paths::kleened(), "--daemon", "--config", daemon.config_path()},
                  test_environment(), std::chrono::seconds(30));
  ASSERT_EQ(started.exit_code, 0) << describe(started);
  // The daemon is not our child; stop it by the PID it wrote, whatever happens below.
  pid_t pid = static_cast<pid_t>(std::strtol(read_file(daemon.pidfile()).c_str(), nullptr, 10));
  ASSERT_GT(pid, 0) << "no PID in " << daemon.pidfile();
  struct Stopper {
    pid_t pid;
    ~Stopper() {
      ::kill(pid, SIGTERM);
      if (!wait_for_exit(pid, DaemonProcess::kStopTimeout)) {
        ::kill(pid, SIGKILL);
        wait_for_exit(pid, DaemonProcess::kStopTimeout);
        ADD_FAILURE() << "daemonised kleened " << pid << " ignored SIGTERM";
      }
    }
  } stopper{pid};
  EXPECT_TRUE(version_round_trip(run_klee({"--host", unix_host(), "version"})));
}

}  // namespace
}  // namespace kleene::it
