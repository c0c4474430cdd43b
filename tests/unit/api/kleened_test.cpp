// The kleened binary: --ready-fd, pidfile, signals, --daemon, exit codes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "client.hpp"

extern char** environ;

namespace kleene::api::test {
namespace {

namespace fs = std::filesystem;

struct Spawned {
  pid_t pid = -1;
  std::string ready;  // the JSON line written to --ready-fd (or "" on EOF)
};

// Run kleened with `args` plus --ready-fd 3 and wait for its ready line.
Spawned spawn_kleened(std::vector<std::string> args, bool with_ready_fd = true) {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (with_ready_fd) {
    posix_spawn_file_actions_adddup2(&actions, fds[1], 3);
    args.insert(args.end(), {"--ready-fd", "3"});
  }
  std::vector<char*> argv;
  std::string binary = KLEENED_PATH;
  argv.push_back(binary.data());
  for (auto& arg : args)
    argv.push_back(arg.data());
  argv.push_back(nullptr);
  Spawned spawned;
  EXPECT_EQ(posix_spawn(&spawned.pid, binary.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buffer, sizeof buffer)) > 0)
    spawned.ready.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  return spawned;
}

int wait_exit(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class KleenedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/kleene-kleened-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    fs::create_directories(dir_ / "plugins");
    std::ofstream(config_path()) << "kleene_root: zroot/kleene\n"
                                 << "api_listening_sockets:\n"
                                 << "  - http://" << socket_path().string() << "\n"
                                 << "  - address: http://127.0.0.1:0\n"
                                 << "enable_logging: true\n"
                                 << "log_level: debug\n"
                                 << "plugin_dirs: [" << (dir_ / "plugins").string() << "]\n"
                                 << "log_file: " << (dir_ / "kleened.log").string() << "\n"
                                 << "run_dir: " << (dir_ / "run").string() << "\n"
                                 << "pidfile: " << pidfile().string() << "\n"
                                 << "metadata_db: " << (dir_ / "db/metadata.sqlite").string()
                                 << "\n";
  }
  void TearDown() override {
    for (pid_t pid : started_)
      if (::kill(pid, SIGTERM) == 0) wait_exit(pid);
    fs::remove_all(dir_);
  }

  fs::path config_path() const { return dir_ / "config.yaml"; }
  fs::path socket_path() const { return dir_ / "kleened.sock"; }
  fs::path pidfile() const { return dir_ / "kleened.pid"; }

  fs::path dir_;
  std::vector<pid_t> started_;
  net::io_context ioc_;
};

TEST_F(KleenedTest, ServesUntilSigtermThenCleansUp) {
  auto kleened = spawn_kleened({"--config", config_path().string()});
  started_.push_back(kleened.pid);
  auto ready = nlohmann::json::parse(kleened.ready);
  EXPECT_EQ(ready["pid"], kleened.pid);
  ASSERT_EQ(ready["listening"].size(), 2u);
  EXPECT_EQ(ready["listening"][0], "http://" + socket_path().string());
  const std::string tcp_url = ready["listening"][1];
  EXPECT_NE(port_of(tcp_url), 0);

  auto socket = connect_unix(ioc_, socket_path());
  auto version = exchange(socket, make_request(http::verb::get, "/version"));
  EXPECT_EQ(version.result_int(), 200);
  EXPECT_EQ(nlohmann::json::parse(version.body())["name"], "kleened");
  auto tcp_socket = connect_tcp(ioc_, port_of(tcp_url));
  auto plugins = exchange(tcp_socket, make_request(http::verb::get, "/plugins/list"));
  EXPECT_EQ(nlohmann::json::parse(plugins.body()), nlohmann::json::array());

  std::ifstream pid_in(pidfile());
  pid_t written = 0;
  pid_in >> written;
  EXPECT_EQ(written, kleened.pid);
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "db/metadata.sqlite").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir_ / "run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  // A second kleened with the same pidfile refuses to start.
  auto second = spawn_kleened({"--config", config_path().string()});
  EXPECT_EQ(wait_exit(second.pid), 1);
  auto error = nlohmann::json::parse(second.ready);
  EXPECT_NE(error["error"].get<std::string>().find("pidfile"), std::string::npos) << second.ready;

  ASSERT_EQ(::kill(kleened.pid, SIGTERM), 0);
  EXPECT_EQ(wait_exit(kleened.pid), 0);
  started_.clear();
  EXPECT_FALSE(fs::exists(socket_path()));
  EXPECT_FALSE(fs::exists(pidfile()));
  std::ifstream log(dir_ / "kleened.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("GET /version -> 200"), std::string::npos);  // debug access log
  // Plain TCP is allowed, but not silently; the unix socket gets no such warning.
  EXPECT_NE(text.find(tcp_url + " is plain TCP without TLS: anyone who can reach it controls"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find(socket_path().string() + " is plain TCP"), std::string::npos) << text;
}

TEST_F(KleenedTest, ConfigErrorExits2NamingKeyAndFile) {
  std::ofstream(config_path(), std::ios::app) << "bogus_key: 1\n";
  auto kleened = spawn_kleened({"--config", config_path().string()});
  EXPECT_EQ(wait_exit(kleened.pid), 2);
  EXPECT_EQ(nlohmann::json::parse(kleened.ready)["error"],
            "config " + config_path().string() + ": bogus_key: unknown key");
  auto missing = spawn_kleened({"--config", (dir_ / "absent.yaml").string()});
  EXPECT_EQ(wait_exit(missing.pid), 2);
  auto usage = spawn_kleened({"--no-such-flag"}, false);
  EXPECT_EQ(wait_exit(usage.pid), 2);
}

TEST_F(KleenedTest, DaemonModeReturnsOnceListening) {
  auto launcher = spawn_kleened({"--daemon", "--config", config_path().string()});
  EXPECT_EQ(wait_exit(launcher.pid), 0);
  // No waiting loop: the socket answers now.
  auto ready = nlohmann::json::parse(launcher.ready);
  const pid_t daemon_pid = ready["pid"];
  auto socket = connect_unix(ioc_, socket_path());
  EXPECT_EQ(exchange(socket, make_request(http::verb::get, "/version")).result_int(), 200);
  // Not our child, so no waitpid: the daemon holds an flock on the pidfile until it has
  // cleaned up, so a blocking lock returns exactly then.
  const int pid_fd = ::open(pidfile().c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(pid_fd, 0);
  ASSERT_EQ(::kill(daemon_pid, SIGTERM), 0);
  EXPECT_EQ(::flock(pid_fd, LOCK_EX), 0);
  ::close(pid_fd);
  EXPECT_FALSE(fs::exists(pidfile()));
  EXPECT_FALSE(fs::exists(socket_path()));

  // A start-up failure is reported by the launcher with exit 1.
  std::ofstream(config_path(), std::ios::app) << "metadata_db: /proc/kleene-forbidden/x.sqlite\n";
  auto failing = spawn_kleened({"--daemon", "--config", config_path().string()});
  EXPECT_EQ(wait_exit(failing.pid), 1);
  EXPECT_TRUE(nlohmann::json::parse(failing.ready).contains("error")) << failing.ready;
}

}  // namespace
}  // namespace kleene::api::test
