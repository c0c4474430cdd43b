// klee's container and exec commands against a real kleened, real keepers and a busybox image,
// following the examples of Kleene's "container run", "Managing your runtime environments" and
// "Operating Kleene" pages with a Linux image: what a new user types, and the lines Kleene
// prints back.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <regex>

#include "certs.hpp"
#include "container_fixture.hpp"

namespace kleene::it {
namespace {

using namespace std::chrono_literals;

// klee on a pseudo-terminal, as a user at a shell runs it: stdin, stdout and stderr are the
// pty's slave; the test types on the master and reads what klee prints there.
class PtyKlee {
 public:
  PtyKlee(const std::vector<std::string>& args, unsigned short rows = 30,
          unsigned short cols = 100) {
    int master = -1, slave = -1;
    winsize size{.ws_row = rows, .ws_col = cols, .ws_xpixel = 0, .ws_ypixel = 0};
    if (::openpty(&master, &slave, nullptr, nullptr, &size) != 0) return;
    ::fcntl(master, F_SETFD, FD_CLOEXEC);
    ::fcntl(slave, F_SETFD, FD_CLOEXEC);
    master_.reset(master);
    UniqueFd slave_fd(slave);
    std::vector<std::string> argv{paths::klee()};
    argv.insert(argv.end(), args.begin(), args.end());
    pid_ = spawn({.argv = argv,
                  .env = test_environment({{"TERM", "dumb"}}),
                  .stdin_fd = slave,
                  .stdout_fd = slave,
                  .stderr_fd = slave});
  }
  ~PtyKlee() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      (void)wait_for_exit(pid_, 10s);
    }
  }
  PtyKlee(const PtyKlee&) = delete;
  PtyKlee& operator=(const PtyKlee&) = delete;

  bool started() const { return pid_ > 0 && master_; }
  void type(std::string_view keys) const {
    ASSERT_EQ(::write(master_.get(), keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
  }
  // Reads until `text` has appeared in the output (true) or `timeout` passed / the session
  // ended (false). Everything read is kept in output().
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout = 30s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (output_.find(text) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd pfd{.fd = master_.get(), .events = POLLIN, .revents = 0};
      if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[4096];
      const auto n = ::read(master_.get(), buf, sizeof buf);
      if (n <= 0) return output_.find(text) != std::string::npos;  // EIO: klee is gone
      output_.append(buf, static_cast<std::size_t>(n));
      answer_cursor_queries();
    }
    return true;
  }
  // busybox's line editor asks the terminal where the cursor is (ESC[6n) and reads the answer
  // from its input; a real terminal answers, so this one does too (ESC[1;1R), or typed keys
  // could be taken for the answer it waits for.
  void answer_cursor_queries() {
    for (auto at = output_.find("\x1b[6n", scanned_); at != std::string::npos;
         at = output_.find("\x1b[6n", at + 1)) {
      type("\x1b[1;1R");
      scanned_ = at + 1;
    }
    if (output_.size() > 3) scanned_ = std::max(scanned_, output_.size() - 3);
  }
  // Waits for klee to exit; its exit code, or nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 30s) {
    (void)wait_for("\x01never\x01", timeout / 2);  // drain until EOF (or half the time)
    auto code = wait_for_exit(pid_, timeout / 2);
    if (code) pid_ = -1;
    return code;
  }
  const std::string& output() const { return output_; }
  // The terminal changes size: the kernel would signal the terminal's foreground group; klee
  // here has no controlling terminal, so it gets the SIGWINCH directly.
  void resize(unsigned short rows, unsigned short cols) const {
    winsize size{.ws_row = rows, .ws_col = cols, .ws_xpixel = 0, .ws_ypixel = 0};
    ASSERT_EQ(::ioctl(master_.get(), TIOCSWINSZ, &size), 0);
    ASSERT_EQ(::kill(pid_, SIGWINCH), 0);
  }

 private:
  UniqueFd master_;
  pid_t pid_ = -1;
  std::string output_;
  std::size_t scanned_ = 0;  // output_ before this is searched for cursor queries
};

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

// "created execution instance <id>" -> <id>
std::string exec_id_of(const std::string& out) {
  static const std::regex re("created execution instance ([0-9a-f]+)");
  std::smatch m;
  return std::regex_search(out, m, re) ? m[1].str() : std::string();
}

class KleeContainersTest : public PoolKleenedTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start_for_containers());
    auto image = klee({"image", "create", "-t", "busybox", "fetch", "file://" + busybox_tarball()});
    ASSERT_EQ(image.exit_code, 0) << describe(image);
  }

  void TearDown() override {
    if (daemon.running()) {
      // Whatever a test left: containers (running ones stopped), volumes, the image.
      for (const auto& id : container_ids(true)) {
        auto removed = klee({"rmc", "-f", id});
        EXPECT_EQ(removed.exit_code, 0) << describe(removed);
      }
      (void)klee({"volume", "prune", "-f"});
      (void)klee({"image", "prune", "-a", "-f"});
      EXPECT_TRUE(daemon.stop());
    }
    pool_.reset();
  }

  ProcessResult klee(std::vector<std::string> args,
                     std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    args.insert(args.begin(), {"--host", unix_host(), "--theme", "simple"});
    std::vector<std::string> argv{paths::klee()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, test_environment(), timeout);
  }

  std::vector<std::string> klee_args(std::vector<std::string> args) const {
    args.insert(args.begin(), {"--host", unix_host(), "--theme", "simple"});
    return args;
  }

  // The CONTAINER ID column of `klee lsc [-a]`.
  std::vector<std::string> container_ids(bool all) {
    auto r = klee(all ? std::vector<std::string>{"lsc", "-a"} : std::vector<std::string>{"lsc"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    std::vector<std::string> ids;
    for (const auto& line : lines_of(r.out)) {
      std::istringstream fields(line);
      std::string first;
      if (fields >> first && first.size() == 12 && first != "CONTAINER") ids.push_back(first);
    }
    return ids;
  }

  // The lsc row of a container as its cells.
  std::vector<std::string> row_of(const std::string& id) {
    auto r = klee({"lsc", "-a"});
    for (const auto& line : lines_of(r.out)) {
      if (!line.starts_with(" " + id)) continue;
      std::vector<std::string> cells;
      std::istringstream in(line);
      for (std::string cell; std::getline(in, cell, '|');) {
        const auto first = cell.find_first_not_of(' ');
        cells.push_back(first == std::string::npos
                            ? std::string()
                            : cell.substr(first, cell.find_last_not_of(' ') - first + 1));
      }
      return cells;
    }
    return {};
  }

  bool running(const std::string& id) {
    auto ids = container_ids(false);
    return std::ranges::find(ids, id) != ids.end();
  }
};

// Kleene's klee create then start: the id, then the execution's lines.
TEST_F(KleeContainersTest, CreateThenStart) {
  auto created =
      klee({"container", "create", "--name", "mycontainer", "busybox", "echo", "Hello World"});
  ASSERT_EQ(created.exit_code, 0) << describe(created);
  const auto id = lines_of(created.out).at(0);
  EXPECT_EQ(id.size(), 12u) << created.out;

  auto started = klee({"container", "start", "mycontainer"});
  ASSERT_EQ(started.exit_code, 0) << describe(started);
  const auto exec_id = exec_id_of(started.out);
  ASSERT_FALSE(exec_id.empty()) << started.out;
  EXPECT_EQ(started.out, "created execution instance " + exec_id + "\nHello World\n\nexecutable " +
                             exec_id + " and its container exited with exit-code 0\n");
  EXPECT_FALSE(running(id));
}

TEST_F(KleeContainersTest, RunAttachedExitsWithTheProcessCode) {
  auto r = klee({"run", "busybox", "sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3) << describe(r);
  const auto lines = lines_of(r.out);
  ASSERT_GE(lines.size(), 4u) << r.out;
  EXPECT_EQ(lines[0].size(), 12u);
  EXPECT_EQ(lines[1], "created execution instance " + exec_id_of(r.out));
  EXPECT_NE(r.out.find("out\n"), std::string::npos);
  EXPECT_NE(r.out.find("err\n"), std::string::npos);  // the process's stderr is in the output
  EXPECT_EQ(lines.back(),
            "executable " + exec_id_of(r.out) + " and its container exited with exit-code 3");
}

// klee keeps one connection for the container create, the exec create and the start's upgrade;
// kleened serves all three on it, over mutual TLS too.
class KleeOverTlsTest : public KleeContainersTest {
 protected:
  void SetUp() override {
    pki = make_test_pki(dir);
    daemon.config()["api_listening_sockets"] =
        json::array({json{{"address", "http://" + daemon.socket_path()}},
                     json{{"address", "https://127.0.0.1:0"},
                          {"tlscert", pki.server_cert},
                          {"tlskey", pki.server_key},
                          {"tlsverify", true},
                          {"tlscacert", pki.ca_cert}}});
    KleeContainersTest::SetUp();
  }

  ProcessResult klee_tls(std::vector<std::string> args) {
    std::vector<std::string> argv{
        paths::klee(), "--host",        daemon.address("https://127.0.0.1:"),
        "--tlsverify", "--tlscacert",   pki.ca_cert,
        "--tlscert",   pki.client_cert, "--tlskey",
        pki.client_key};
    argv.insert(argv.end(), args.begin(), args.end());
    return run_command(argv, test_environment(), std::chrono::seconds(60));
  }

  TestPki pki;
};

TEST_F(KleeOverTlsTest, RunAndExecOnOneConnectionEach) {
  auto r = klee_tls({"run", "busybox", "sh", "-c", "echo over tls; exit 4"});
  EXPECT_EQ(r.exit_code, 4) << describe(r);
  EXPECT_NE(r.out.find("over tls\n"), std::string::npos) << r.out;
  auto detached = klee_tls({"run", "-d", "--name", "tls", "busybox", "sleep", "1000"});
  EXPECT_EQ(detached.exit_code, 0) << describe(detached);
  auto e = klee_tls({"exec", "tls", "echo", "exec over tls"});
  EXPECT_EQ(e.exit_code, 0) << describe(e);
  EXPECT_NE(e.out.find("exec over tls\n"), std::string::npos) << e.out;
}

TEST_F(KleeContainersTest, RunDetachedLeavesItRunning) {
  auto r = klee({"run", "-d", "--name", "web", "busybox", "sleep", "1000"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto lines = lines_of(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  const auto id = lines[0];
  EXPECT_TRUE(lines[1].starts_with("created execution instance ")) << r.out;
  EXPECT_TRUE(running(id));

  // klee lsc: Kleene's columns; the JID is the init's host PID.
  auto table = klee({"lsc"});
  ASSERT_EQ(table.exit_code, 0) << describe(table);
  EXPECT_TRUE(table.out.starts_with(" CONTAINER ID  | NAME | IMAGE          | COMMAND    "))
      << table.out;
  const auto row = row_of(id);
  ASSERT_EQ(row.size(), 8u) << table.out;
  EXPECT_EQ(row[1], "web");
  EXPECT_EQ(row[2], "busybox:latest");
  EXPECT_EQ(row[3], "sleep 1000");
  EXPECT_TRUE(row[4].ends_with(" ago")) << row[4];
  EXPECT_EQ(row[5], "no");
  EXPECT_EQ(row[6], "running");
  ASSERT_FALSE(row[7].empty());
  EXPECT_TRUE(std::filesystem::exists("/proc/" + row[7])) << row[7];

  // exec into it: attached, with Kleene's "has exited" line (the container keeps running).
  auto exec = klee({"exec", "web", "sh", "-c", "echo inside $(hostname); exit 5"});
  EXPECT_EQ(exec.exit_code, 5) << describe(exec);
  EXPECT_NE(exec.out.find("inside " + id + "\n"), std::string::npos) << exec.out;
  EXPECT_EQ(lines_of(exec.out).back(), exec_id_of(exec.out) + " has exited with exit-code 5");
  EXPECT_TRUE(running(id));

  // A running container is not removed; -f stops it first.
  auto refused = klee({"rmc", "web"});
  EXPECT_EQ(refused.exit_code, 1) << describe(refused);
  EXPECT_FALSE(refused.err.empty());
  auto forced = klee({"rmc", "-f", "web"});
  EXPECT_EQ(forced.exit_code, 0) << describe(forced);
  EXPECT_EQ(forced.out, id + "\n");
  EXPECT_TRUE(container_ids(true).empty());
}

// Kleene's "run IMG sh -c 'sleep 1000 & echo up'": the exec ends, the container does not.
TEST_F(KleeContainersTest, BackgroundProcessKeepsTheContainerRunning) {
  auto r = klee({"run", "busybox", "sh", "-c", "sleep 1000 & echo up"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto id = lines_of(r.out).at(0);
  EXPECT_NE(r.out.find("up\n"), std::string::npos);
  EXPECT_EQ(lines_of(r.out).back(), exec_id_of(r.out) + " has exited with exit-code 0");
  EXPECT_TRUE(running(id));
  auto stopped = klee({"stop", id});
  EXPECT_EQ(stopped.exit_code, 0) << describe(stopped);
  EXPECT_EQ(stopped.out, id + "\n");
  EXPECT_FALSE(running(id));
  // start again: the container's own command runs once more.
  auto again = klee({"start", id});
  EXPECT_EQ(again.exit_code, 0) << describe(again);
  EXPECT_NE(again.out.find("up\n"), std::string::npos);
  auto restarted = klee({"restart", id});
  EXPECT_EQ(restarted.exit_code, 0) << describe(restarted);
  EXPECT_TRUE(restarted.out.starts_with(id + "\ncreated execution instance ")) << restarted.out;
}

// klee run --name test -it IMG /bin/sh, then `exit`.
TEST_F(KleeContainersTest, InteractiveTtyShell) {
  PtyKlee session(klee_args({"run", "--name", "test", "-it", "busybox", "/bin/sh"}), 30, 100);
  ASSERT_TRUE(session.started());
  ASSERT_TRUE(session.wait_for("# ")) << session.output();
  // The marker is computed by the shell, so neither the echoed input nor an id can match it.
  session.type("stty size; echo size-$((6*7))\r");
  ASSERT_TRUE(session.wait_for("size-42")) << session.output();
  EXPECT_NE(session.output().find("30 100"), std::string::npos) << session.output();
  session.resize(40, 120);
  session.type("stty size\r");
  ASSERT_TRUE(session.wait_for("40 120")) << session.output();
  session.type("exit\r");
  ASSERT_TRUE(session.wait_for("and its container exited with exit-code 0")) << session.output();
  EXPECT_EQ(session.wait_exit(), 0);
}

// Ctrl-C reaches the process through the pty: the shell survives it.
TEST_F(KleeContainersTest, CtrlCGoesToTheProcessWithATty) {
  PtyKlee session(klee_args({"run", "-it", "busybox", "/bin/sh"}));
  ASSERT_TRUE(session.started());
  ASSERT_TRUE(session.wait_for("# ")) << session.output();
  session.type("sh -c 'echo ready-$((3*3)); exec sleep 1000'\r");
  ASSERT_TRUE(session.wait_for("ready-9")) << session.output();  // running in the foreground
  session.type("\x03");
  session.type("echo still-$((1+1))\r");
  ASSERT_TRUE(session.wait_for("still-2")) << session.output();
  session.type("exit 4\r");
  ASSERT_TRUE(session.wait_for("exit-code 4")) << session.output();
  EXPECT_EQ(session.wait_exit(), 4);
}

// Without a tty, Ctrl-C ends klee and stops that execution instance.
TEST_F(KleeContainersTest, InterruptWithoutTtyStopsTheExecution) {
  Pipe out = make_pipe();
  std::vector<std::string> argv{paths::klee()};
  for (auto& a : klee_args({"run", "busybox", "sh", "-c", "echo started; exec sleep 1000"}))
    argv.push_back(a);
  const pid_t pid = spawn({.argv = argv, .env = test_environment(), .stdout_fd = out.write.get()});
  out.write.reset();
  std::string seen;
  while (seen.find("started\n") == std::string::npos) {
    pollfd pfd{.fd = out.read.get(), .events = POLLIN, .revents = 0};
    ASSERT_GT(::poll(&pfd, 1, 30000), 0) << seen;
    char buf[512];
    const auto n = ::read(out.read.get(), buf, sizeof buf);
    ASSERT_GT(n, 0) << seen;
    seen.append(buf, static_cast<std::size_t>(n));
  }
  const auto id = lines_of(seen).at(0);
  const auto jid = row_of(id).at(7);
  ASSERT_FALSE(jid.empty());
  ASSERT_EQ(::kill(pid, SIGINT), 0);
  EXPECT_EQ(wait_for_exit(pid, 30s), 130);
  // The execution was the container's only process: the container (its init) ends with it.
  EXPECT_TRUE(wait_for_exit(std::stoi(jid), 30s).has_value());
  bool ended = false;
  for (int i = 0; i < 100 && !ended; ++i) {
    ended = !running(id);  // kleened hears of the end from the keeper; ask until it has
  }
  EXPECT_TRUE(ended);
}

// exec -i without a terminal: stdin is forwarded until its end, then the process sees EOF.
TEST_F(KleeContainersTest, InteractiveStdinWithoutTty) {
  auto r = klee({"run", "-d", "--name", "box", "busybox", "sleep", "1000"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  Pipe in = make_pipe();
  Pipe out = make_pipe();
  std::vector<std::string> argv{paths::klee()};
  for (auto& a : klee_args({"exec", "-i", "box", "sh", "-c", "tr a-z A-Z; echo done"}))
    argv.push_back(a);
  const pid_t pid = spawn({.argv = argv,
                           .env = test_environment(),
                           .stdin_fd = in.read.get(),
                           .stdout_fd = out.write.get()});
  in.read.reset();
  out.write.reset();
  const std::string input = "piped input\n";
  ASSERT_EQ(::write(in.write.get(), input.data(), input.size()),
            static_cast<ssize_t>(input.size()));
  in.write.reset();  // end of input
  std::string seen;
  for (;;) {
    pollfd pfd{.fd = out.read.get(), .events = POLLIN, .revents = 0};
    ASSERT_GT(::poll(&pfd, 1, 30000), 0) << seen;
    char buf[512];
    const auto n = ::read(out.read.get(), buf, sizeof buf);
    if (n <= 0) break;
    seen.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_EQ(wait_for_exit(pid, 30s), 0);
  EXPECT_NE(seen.find("PIPED INPUT\ndone\n"), std::string::npos) << seen;
  EXPECT_NE(seen.find("has exited with exit-code 0"), std::string::npos) << seen;
}

// Operating Kleene: kill -9 kleened, the container still runs; a restarted kleened shows it
// running (same JID) without restarting it.
TEST_F(KleeContainersTest, ContainersOutliveAKilledKleened) {
  auto r = klee({"run", "-d", "--name", "survivor", "busybox", "sleep", "1000"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  const auto id = lines_of(r.out).at(0);
  const auto jid = row_of(id).at(7);
  ASSERT_FALSE(jid.empty());

  ASSERT_EQ(::kill(daemon.pid(), SIGKILL), 0);
  ASSERT_TRUE(daemon.stop(128 + SIGKILL));
  auto refused = klee({"lsc"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_TRUE(refused.err.starts_with("unable to connect to kleened: ")) << refused.err;
  EXPECT_TRUE(std::filesystem::exists("/proc/" + jid)) << "the container's init is gone";

  ASSERT_TRUE(daemon.start());
  const auto row = row_of(id);
  ASSERT_EQ(row.size(), 8u);
  EXPECT_EQ(row[6], "running");
  EXPECT_EQ(row[7], jid);
  auto exec = klee({"exec", "survivor", "echo", "alive"});
  EXPECT_EQ(exec.exit_code, 0) << describe(exec);
  EXPECT_NE(exec.out.find("\nalive\n"), std::string::npos) << exec.out;
}

// -m some_storage:/foo/bar creates the volume and the directory.
TEST_F(KleeContainersTest, VolumeMountCreatesVolumeAndDirectory) {
  auto r = klee({"run", "-m", "some_storage:/foo/bar", "busybox", "ls", "/foo"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("\nbar\n"), std::string::npos) << r.out;
  auto volumes = klee({"volume", "ls"});
  EXPECT_NE(volumes.out.find(" some_storage "), std::string::npos) << volumes.out;
  auto inspected = klee({"isc", lines_of(r.out).at(0)});
  ASSERT_EQ(inspected.exit_code, 0) << describe(inspected);
  const auto mounts = json::parse(inspected.out)["container_mountpoints"];
  ASSERT_EQ(mounts.size(), 1u) << inspected.out;
  EXPECT_EQ(mounts[0]["type"], "volume");
  EXPECT_EQ(mounts[0]["destination"], "/foo/bar");
}

// -m archive:/writeprotected:ro, then touch fails.
TEST_F(KleeContainersTest, ReadOnlyMount) {
  auto r =
      klee({"run", "-m", "archive:/writeprotected:ro", "busybox", "touch", "/writeprotected/here"});
  EXPECT_EQ(r.exit_code, 1) << describe(r);
  EXPECT_NE(r.out.find("Read-only file system"), std::string::npos) << r.out;
  EXPECT_EQ(lines_of(r.out).back(),
            "executable " + exec_id_of(r.out) + " and its container exited with exit-code 1");
}

TEST_F(KleeContainersTest, HostDirectoryMount) {
  const auto host_dir = pool_->dir() / "kl-hostdir";
  std::filesystem::create_directories(host_dir);
  write_file(host_dir / "greeting", "hello from the host\n");
  auto r = klee({"run", "--mount", host_dir.string() + ":/app", "busybox", "sh", "-c",
                 "cat /app/greeting; echo written > /app/back"});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("hello from the host\n"), std::string::npos) << r.out;
  EXPECT_EQ(read_file(host_dir / "back"), "written\n");
  auto ro = klee({"run", "-m", host_dir.string() + ":/app:ro", "busybox", "touch", "/app/x"});
  EXPECT_EQ(ro.exit_code, 1) << describe(ro);
  EXPECT_FALSE(std::filesystem::exists(host_dir / "x"));
}

TEST_F(KleeContainersTest, Environment) {
  auto r = klee(
      {"run", "-e", "FOO=bar", "--env", "B=two words", "busybox", "sh", "-c", "echo \"$FOO|$B\""});
  ASSERT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_NE(r.out.find("\nbar|two words\n"), std::string::npos) << r.out;
  auto id = lines_of(r.out).at(0);
  auto exec = klee({"exec", "-e", "FOO=override", id, "sh", "-c", "echo $FOO"});
  EXPECT_EQ(exec.exit_code, 0) << describe(exec);
  EXPECT_NE(exec.out.find("\noverride\n"), std::string::npos) << exec.out;
}

// -J allow.raw_sockets makes ping work under --network host; without it, it fails.
TEST_F(KleeContainersTest, RawSocketsJailParameter) {
  auto denied = klee({"run", "--network", "host", "busybox", "ping", "-c", "1", "127.0.0.1"});
  EXPECT_NE(denied.exit_code, 0) << describe(denied);
  auto allowed = klee({"run", "--network", "host", "-J", "allow.raw_sockets", "busybox", "ping",
                       "-c", "1", "127.0.0.1"});
  EXPECT_EQ(allowed.exit_code, 0) << describe(allowed);
  EXPECT_NE(allowed.out.find("1 packets received"), std::string::npos) << allowed.out;
  const auto inspected = json::parse(klee({"isc", lines_of(allowed.out).at(0)}).out);
  EXPECT_EQ(inspected["container"]["network_driver"], "host");
}

TEST_F(KleeContainersTest, ErrorPaths) {
  auto bad_mount = klee({"run", "-m", "nocolon", "busybox", "true"});
  EXPECT_EQ(bad_mount.exit_code, 125) << describe(bad_mount);
  EXPECT_EQ(bad_mount.err,
            "invalid mount format 'nocolon'. Must have at least 2 elements seperated by ':'.\n");
  auto bad_mode = klee({"create", "-m", "a:/b:rx", "busybox"});
  EXPECT_EQ(bad_mode.exit_code, 125) << describe(bad_mode);

  auto unsupported = klee({"run", "-J", "allow.frobnicate", "busybox", "true"});
  EXPECT_EQ(unsupported.exit_code, 1) << describe(unsupported);
  EXPECT_NE(unsupported.err.find("could not create container: "), std::string::npos)
      << unsupported.err;
  EXPECT_NE(unsupported.err.find("allow.raw_sockets"), std::string::npos) << unsupported.err;

  auto no_image = klee({"run", "nothere", "true"});
  EXPECT_EQ(no_image.exit_code, 1) << describe(no_image);
  EXPECT_TRUE(no_image.err.starts_with("could not create container: ")) << no_image.err;

  auto no_container = klee({"start", "nothere"});
  EXPECT_EQ(no_container.exit_code, 1) << describe(no_container);
  auto no_exec = klee({"exec", "nothere", "true"});
  EXPECT_EQ(no_exec.exit_code, 1) << describe(no_exec);
  EXPECT_EQ(klee({"stop", "nothere"}).exit_code, 1);
  EXPECT_EQ(klee({"rmc", "nothere"}).exit_code, 1);
  EXPECT_EQ(klee({"isc", "nothere"}).exit_code, 1);

  auto missing_binary = klee({"run", "busybox", "/bin/nonexistent"});
  EXPECT_NE(missing_binary.exit_code, 0) << describe(missing_binary);

  ASSERT_EQ(klee({"create", "--name", "taken", "busybox"}).exit_code, 0);
  auto duplicate = klee({"create", "--name", "taken", "busybox"});
  EXPECT_EQ(duplicate.exit_code, 1) << describe(duplicate);
  auto bad_name = klee({"create", "--name", "bad name!", "busybox"});
  EXPECT_EQ(bad_name.exit_code, 1) << describe(bad_name);
}

TEST_F(KleeContainersTest, ListInspectRenameUpdatePrune) {
  auto kept = klee({"create", "--name", "kept", "-P", "--restart", "on-startup", "busybox"});
  ASSERT_EQ(kept.exit_code, 0) << describe(kept);
  auto gone = klee({"create", "--name", "gone", "busybox", "/bin/true"});
  ASSERT_EQ(gone.exit_code, 0) << describe(gone);
  const auto kept_id = lines_of(kept.out).at(0), gone_id = lines_of(gone.out).at(0);

  EXPECT_TRUE(container_ids(false).empty());  // lsc: running ones only
  EXPECT_EQ(container_ids(true).size(), 2u);
  EXPECT_EQ(row_of(kept_id).at(5), "yes");  // AUTORUN
  EXPECT_EQ(row_of(kept_id).at(6), "stopped");
  EXPECT_EQ(row_of(kept_id).at(7), "");

  auto renamed = klee({"container", "rename", "gone", "going"});
  EXPECT_EQ(renamed.exit_code, 0) << describe(renamed);
  EXPECT_EQ(row_of(gone_id).at(1), "going");
  auto updated = klee({"container", "update", "-e", "X=1", "going"});
  EXPECT_EQ(updated.exit_code, 0) << describe(updated);
  const auto inspected = json::parse(klee({"isc", "going"}).out);
  EXPECT_EQ(inspected["container"]["env"], json{"X=1"});
  EXPECT_EQ(inspected["container"]["name"], "going");  // update changed only the env

  auto aborted = klee({"container", "prune"});  // stdin is /dev/null: no answer
  EXPECT_EQ(aborted.exit_code, 1);
  EXPECT_NE(aborted.out.find("WARNING! This will remove all stopped containers."),
            std::string::npos);
  auto pruned = klee({"container", "prune", "-f"});
  EXPECT_EQ(pruned.exit_code, 0) << describe(pruned);
  EXPECT_EQ(pruned.out, gone_id + "\n");  // persist keeps "kept"
  EXPECT_EQ(container_ids(true), std::vector<std::string>{kept_id});
}

}  // namespace
}  // namespace kleene::it
