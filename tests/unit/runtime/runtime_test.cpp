// The real runtime: keepers, containers (namespaces, pivot_root, pids cgroup) and executions on
// a busybox rootfs on tmpfs. Each test checks that its containers leave no keeper, cgroup or
// run dir behind.
#include "runtime/runtime.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

#include "util/process.hpp"
#include "util/unique_fd.hpp"

// Sanitized builds carry the runtimes (GCC defines __SANITIZE_*__, clang has __has_feature).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KLEENE_SANITIZED_TEST 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define KLEENE_SANITIZED_TEST 1
#endif
#endif

namespace kleene::runtime {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const fs::path kCgroupRoot = "/sys/fs/cgroup";

struct Outcome {
  std::string output;
  int exit_code = -1;
  bool container_ended = false;
};

Outcome collect(Execution& execution) {
  Outcome outcome;
  for (;;) {
    auto event = execution.next();
    if (!event) {
      ADD_FAILURE() << "next(): " << event.error().message;
      return outcome;
    }
    if (event->kind == ExecEvent::Kind::output) {
      outcome.output += event->data;
      continue;
    }
    outcome.exit_code = event->exit_code;
    outcome.container_ended = event->container_ended;
    auto after = execution.next();
    EXPECT_FALSE(after);
    if (!after) {
      EXPECT_EQ(after.error().code, ENODATA);
    }
    return outcome;
  }
}

// Read output until `needle` appears (the process is still running).
std::string read_until(Execution& execution, const std::string& needle) {
  std::string output;
  while (output.find(needle) == std::string::npos) {
    auto event = execution.next();
    if (!event || event->kind != ExecEvent::Kind::output) {
      ADD_FAILURE() << "no '" << needle << "' in: " << output;
      return output;
    }
    output += event->data;
  }
  return output;
}

bool process_exited(pid_t pid, std::chrono::milliseconds timeout) {
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!fd) return errno == ESRCH;
  pollfd pfd{fd.get(), POLLIN, 0};
  return ::poll(&pfd, 1, static_cast<int>(timeout.count())) == 1;
}

class RuntimeTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/dev/shm/kl-runtime-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    rootfs_ = base_ / "rootfs";
    for (const char* d : {"bin", "dev", "etc", "proc", "sys", "tmp", "root"})
      fs::create_directories(rootfs_ / d);
    fs::copy_file("/bin/busybox", rootfs_ / "bin/busybox");
    auto applets = run_process({.argv = {"/bin/busybox", "--list"}});
    ASSERT_TRUE(applets) << applets.error().message;
    std::istringstream names(applets->out);
    for (std::string name; std::getline(names, name);) {
      if (!name.empty() && name != "busybox") fs::create_symlink("busybox", rootfs_ / "bin" / name);
    }
    std::ofstream(rootfs_ / "etc/passwd")
        << "root:x:0:0:root:/root:/bin/sh\n"
        << "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
    std::ofstream(rootfs_ / "etc/group") << "root:x:0:\nnogroup:x:65534:\n";
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  void SetUp() override {
    run_dir_ = base_ / ("run-" + std::to_string(++counter_));
    runtime_ = std::make_unique<Runtime>(options());
  }

  void TearDown() override {
    for (const auto& [id, keeper] : started_) {
      if (runtime_ && runtime_->state(id)) (void)runtime_->stop(id, 0ms);
      EXPECT_TRUE(process_exited(keeper, 10s)) << "keeper of " << id << " still runs";
      EXPECT_FALSE(fs::exists(run_dir_ / "containers" / id)) << id;
      EXPECT_FALSE(fs::exists(kCgroupRoot / "pids/kleene" / id)) << id;
    }
  }

  [[nodiscard]] RuntimeOptions options() const {
    return RuntimeOptions{KLEENE_TEST_KEEPER, run_dir_, kCgroupRoot};
  }

  ContainerSpec spec(const std::string& suffix) {
    ContainerSpec s;
    s.id = "klrt" + std::to_string(::getpid()) + suffix;
    s.rootfs = rootfs_;
    return s;
  }

  ContainerState start(const ContainerSpec& s, const BeforeRun& hook = {}) {
    auto state = runtime_->start(s, hook);
    EXPECT_TRUE(state) << state.error().message;
    if (!state) return {};
    started_.emplace_back(s.id, state->keeper_pid);
    return *state;
  }

  static ProcessSpec process(std::vector<std::string> argv, std::string exec_id = "e1") {
    ProcessSpec p;
    p.exec_id = std::move(exec_id);
    p.argv = std::move(argv);
    return p;
  }

  Outcome run(const std::string& id, std::vector<std::string> argv, std::string exec_id = "e1") {
    auto execution = runtime_->exec(id, process(std::move(argv), std::move(exec_id)), true);
    EXPECT_TRUE(execution) << execution.error().message;
    if (!execution) return {};
    return collect(**execution);
  }

  // The keeper of a container that ended on its own goes without being asked.
  void expect_container_gone(const std::string& id) {
    for (const auto& [started_id, keeper] : started_) {
      if (started_id == id) {
        EXPECT_TRUE(process_exited(keeper, 10s));
      }
    }
    EXPECT_FALSE(runtime_->state(id));
  }

  static inline fs::path base_;
  static inline fs::path rootfs_;
  static inline int counter_ = 0;
  fs::path run_dir_;
  std::unique_ptr<Runtime> runtime_;
  std::vector<std::pair<std::string, pid_t>> started_;
};

TEST_F(RuntimeTest, EchoRunsAndTheContainerEndsWithIt) {
  auto s = spec("echo");
  const auto state = start(s);
  EXPECT_EQ(state.id, s.id);
  EXPECT_GT(state.init_pid, 0);
  EXPECT_GT(state.keeper_pid, 0);
  EXPECT_TRUE(fs::exists(kCgroupRoot / "pids/kleene" / s.id));
  auto execution = runtime_->exec(s.id, process({"/bin/echo", "hello", "world"}), true);
  ASSERT_TRUE(execution) << execution.error().message;
  // The keeper's answer names the init (kleened settles the container's end against it).
  EXPECT_EQ((*execution)->init_pid(), state.init_pid);
  auto outcome = collect(**execution);
  EXPECT_EQ(outcome.output, "hello world\n");
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_TRUE(outcome.container_ended);
  expect_container_gone(s.id);
}

// The keeper runs as root beside every container: a copy that others could replace or write is
// refused with the reason, and nothing is left of the start.
TEST_F(RuntimeTest, AKeeperOthersCanWriteIsNotRun) {
  const fs::path loose = base_ / "loose";
  fs::create_directories(loose);
  fs::copy_file(KLEENE_TEST_KEEPER, loose / "keeper", fs::copy_options::overwrite_existing);
  const auto try_start = [&](const std::string& suffix) {
    Runtime runtime(RuntimeOptions{loose / "keeper", run_dir_, kCgroupRoot});
    auto started = runtime.start(spec(suffix));
    if (started) (void)runtime.stop(spec(suffix).id, 0ms);
    return started;
  };
  fs::permissions(loose, fs::perms::all);  // 0777: anyone may swap the file
  fs::permissions(loose / "keeper", fs::perms(0755));
  auto state = try_start("loosedir");
  ASSERT_FALSE(state);
  EXPECT_EQ(state.error().code, EPERM);
  EXPECT_NE(state.error().message.find(loose.string() + " is writable by others (mode 0777)"),
            std::string::npos)
      << state.error().message;
  fs::permissions(loose, fs::perms(0755));
  fs::permissions(loose / "keeper", fs::perms(0757));
  state = try_start("loosefile");
  ASSERT_FALSE(state);
  EXPECT_NE(state.error().message.find("keeper is writable by others (mode 0757)"),
            std::string::npos)
      << state.error().message;
  EXPECT_FALSE(fs::exists(run_dir_ / "containers" / spec("loosedir").id));
  EXPECT_FALSE(fs::exists(run_dir_ / "containers" / spec("loosefile").id));
  fs::permissions(loose / "keeper", fs::perms(0755));
  state = try_start("tidy");
  ASSERT_TRUE(state) << state.error().message;
  EXPECT_TRUE(process_exited(state->keeper_pid, 10s));
  fs::remove_all(loose);
}

TEST_F(RuntimeTest, EnvironmentIsCleanByDefault) {
  ::setenv("KL_RUNTIME_TEST_HOST", "leak", 1);
  auto clean = spec("env");
  clean.params.persist = true;
  start(clean);
  auto p = process({"/bin/env"});
  p.env = {"FOO=bar"};
  auto execution = runtime_->exec(clean.id, p, true);
  ASSERT_TRUE(execution);
  auto outcome = collect(**execution);
  EXPECT_NE(outcome.output.find("FOO=bar\n"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("PATH="), std::string::npos) << outcome.output;
  EXPECT_EQ(outcome.output.find("KL_RUNTIME_TEST_HOST"), std::string::npos) << outcome.output;
  EXPECT_TRUE(runtime_->stop(clean.id, 1s));

  auto noclean = spec("noclean");
  noclean.params.clean_env = false;
  start(noclean);
  const auto inherited = run(noclean.id, {"/bin/env"});
  EXPECT_EQ(inherited.exit_code, 0);
  EXPECT_NE(inherited.output.find("KL_RUNTIME_TEST_HOST=leak"), std::string::npos)
      << inherited.output;
  ::unsetenv("KL_RUNTIME_TEST_HOST");
}

TEST_F(RuntimeTest, ExitCodes) {
  auto s = spec("codes");
  s.params.persist = true;
  start(s);
  EXPECT_EQ(run(s.id, {"/bin/sh", "-c", "exit 3"}).exit_code, 3);
  auto missing = run(s.id, {"/bin/nope"});
  EXPECT_EQ(missing.exit_code, 127);
  EXPECT_NE(missing.output.find("/bin/nope"), std::string::npos) << missing.output;
  EXPECT_NE(missing.output.find("No such file or directory"), std::string::npos) << missing.output;
  auto not_executable = run(s.id, {"/etc/passwd"});
  EXPECT_EQ(not_executable.exit_code, 126) << not_executable.output;
  auto self_killed = run(s.id, {"/bin/sh", "-c", "kill -9 $$"});
  EXPECT_EQ(self_killed.exit_code, 137);
  EXPECT_FALSE(self_killed.container_ended);
  EXPECT_TRUE(runtime_->stop(s.id, 1s));
}

TEST_F(RuntimeTest, StopExecForceGives137) {
  auto s = spec("kill");
  start(s);
  auto execution = runtime_->exec(s.id, process({"/bin/sh", "-c", "echo ready; sleep 1000"}), true);
  ASSERT_TRUE(execution) << execution.error().message;
  read_until(**execution, "ready");
  ASSERT_TRUE(runtime_->stop_exec(s.id, "e1", true));
  auto outcome = collect(**execution);
  EXPECT_EQ(outcome.exit_code, 137);
  EXPECT_TRUE(outcome.container_ended);
  auto again = runtime_->stop_exec(s.id, "e1", true);
  EXPECT_FALSE(again);
  expect_container_gone(s.id);
}

TEST_F(RuntimeTest, StopExecTermGives143) {
  auto s = spec("term");
  s.params.persist = true;
  start(s);
  auto execution = runtime_->exec(s.id, process({"/bin/sleep", "1000"}), true);
  ASSERT_TRUE(execution);
  ASSERT_TRUE(runtime_->stop_exec(s.id, "e1", false));
  auto outcome = collect(**execution);
  EXPECT_EQ(outcome.exit_code, 143);
  EXPECT_FALSE(outcome.container_ended);
  auto unknown = runtime_->stop_exec(s.id, "nope", false);
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().code, ENOENT);
  EXPECT_TRUE(runtime_->stop(s.id, 1s));
}

TEST_F(RuntimeTest, StopTerminatesEverythingAndCleansUp) {
  auto s = spec("stop");
  start(s);
  auto execution = runtime_->exec(s.id, process({"/bin/sleep", "1000"}), true);
  ASSERT_TRUE(execution);
  ASSERT_TRUE(runtime_->exec(s.id, process({"/bin/sleep", "1000"}, "e2"), false));
  ASSERT_TRUE(runtime_->stop(s.id, 5s));
  // stop() returned: keeper, cgroup and run dir are gone already.
  EXPECT_FALSE(fs::exists(run_dir_ / "containers" / s.id));
  EXPECT_FALSE(fs::exists(kCgroupRoot / "pids/kleene" / s.id));
  auto outcome = collect(**execution);
  EXPECT_EQ(outcome.exit_code, 143);
  EXPECT_TRUE(outcome.container_ended);
  auto gone = runtime_->stop(s.id, 1s);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, ENOENT);
}

TEST_F(RuntimeTest, StopKillsWhatIgnoresSigterm) {
  auto s = spec("stubborn");
  start(s);
  auto execution = runtime_->exec(
      s.id, process({"/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done"}),
      true);
  ASSERT_TRUE(execution);
  read_until(**execution, "ready");
  ASSERT_TRUE(runtime_->stop(s.id, 300ms));
  EXPECT_EQ(collect(**execution).exit_code, 137);
}

TEST_F(RuntimeTest, BackgroundProcessKeepsTheContainerRunning) {
  auto s = spec("bg");
  const auto state = start(s);
  auto outcome = run(s.id, {"/bin/sh", "-c", "sleep 1000 & echo up"});
  EXPECT_EQ(outcome.output, "up\n");
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_FALSE(outcome.container_ended);
  auto now = runtime_->state(s.id);
  ASSERT_TRUE(now);
  EXPECT_EQ(now->init_pid, state.init_pid);
  EXPECT_TRUE(runtime_->stop(s.id, 1s));
}

TEST_F(RuntimeTest, TheLastOrphanEndsTheContainer) {
  auto s = spec("orphan");
  start(s);
  auto outcome = run(s.id, {"/bin/sh", "-c", "sleep 1000 & echo $!"});
  EXPECT_FALSE(outcome.container_ended);
  ASSERT_FALSE(outcome.output.empty());
  outcome.output.pop_back();
  // The orphan belongs to the init now and keeps the container: its end ends the container.
  auto killed = run(s.id, {"/bin/kill", outcome.output}, "e2");
  EXPECT_EQ(killed.exit_code, 0);
  expect_container_gone(s.id);
}

TEST_F(RuntimeTest, PersistKeepsAnEmptyContainer) {
  auto s = spec("persist");
  start(s);
  JailParams params;
  params.persist = true;
  ASSERT_TRUE(runtime_->update(s.id, params));
  auto outcome = run(s.id, {"/bin/true"});
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_FALSE(outcome.container_ended);
  EXPECT_TRUE(runtime_->state(s.id));
  EXPECT_TRUE(runtime_->stop(s.id, 1s));
}

TEST_F(RuntimeTest, LargeOutputArrivesCompleteAndBeforeTheExit) {
  auto s = spec("large");
  start(s);
  auto outcome = run(s.id, {"/bin/seq", "1", "100000"});
  std::string expected;
  for (int i = 1; i <= 100000; ++i)
    expected += std::to_string(i) + "\n";
  EXPECT_EQ(outcome.output.size(), expected.size());
  EXPECT_TRUE(outcome.output == expected);
  EXPECT_EQ(outcome.exit_code, 0);
}

TEST_F(RuntimeTest, LargeInputIsBufferedWithoutLoss) {
  auto s = spec("stdin");
  start(s);
  auto execution = runtime_->exec(s.id, process({"/bin/wc", "-c"}), true);
  ASSERT_TRUE(execution);
  const std::string chunk(100000, 'x');
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE((*execution)->write_stdin(chunk));
  ASSERT_TRUE((*execution)->close_stdin());
  auto outcome = collect(**execution);
  EXPECT_EQ(outcome.output, "2000000\n");
}

TEST_F(RuntimeTest, NothingLeadsOutsideTheContainer) {
  auto s = spec("fds");
  s.params.persist = true;
  const auto state = start(s);
  // The init: its control socket and its signalfd, nothing else.
  std::vector<std::string> targets;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(state.init_pid) + "/fd"))
    targets.push_back(fs::read_symlink(fd.path()).string());
  std::ranges::sort(targets);
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_EQ(targets[0], "anon_inode:[signalfd]");
  EXPECT_TRUE(targets[1].starts_with("socket:")) << targets[1];
  // An execution: stdio only (3 is ls's own directory).
  EXPECT_EQ(run(s.id, {"/bin/ls", "/proc/self/fd"}).output, "0\n1\n2\n3\n");
  EXPECT_TRUE(runtime_->stop(s.id, 1s));
}

TEST_F(RuntimeTest, TwoExecutionsAtOnceWithStdin) {
  auto s = spec("two");
  start(s);
  auto first = runtime_->exec(s.id, process({"/bin/sh", "-c", "read x; echo got $x"}), true);
  ASSERT_TRUE(first);
  auto second = run(s.id, {"/bin/echo", "second"}, "e2");
  EXPECT_EQ(second.output, "second\n");
  EXPECT_FALSE(second.container_ended);
  ASSERT_TRUE((*first)->write_stdin("one\n"));
  auto outcome = collect(**first);
  EXPECT_EQ(outcome.output, "got one\n");
  EXPECT_TRUE(outcome.container_ended);
  expect_container_gone(s.id);
}

TEST_F(RuntimeTest, CloseStdinGivesEndOfFile) {
  auto s = spec("eof");
  start(s);
  auto execution = runtime_->exec(s.id, process({"/bin/cat"}), true);
  ASSERT_TRUE(execution);
  ASSERT_TRUE((*execution)->write_stdin("abc"));
  ASSERT_TRUE((*execution)->close_stdin());
  auto outcome = collect(**execution);
  EXPECT_EQ(outcome.output, "abc");
  EXPECT_EQ(outcome.exit_code, 0);
}

TEST_F(RuntimeTest, TtyExecutionWithResize) {
  auto s = spec("tty");
  start(s);
  auto p = process({"/bin/sh", "-c", "[ -t 0 ] && echo is-a-tty; read x; stty size"});
  p.tty = true;
  auto execution = runtime_->exec(s.id, p, true);
  ASSERT_TRUE(execution);
  read_until(**execution, "is-a-tty");
  ASSERT_TRUE((*execution)->resize(33, 111));
  ASSERT_TRUE((*execution)->write_stdin("go\n"));
  auto outcome = collect(**execution);
  EXPECT_NE(outcome.output.find("33 111"), std::string::npos) << outcome.output;
  EXPECT_EQ(outcome.exit_code, 0);
}

TEST_F(RuntimeTest, CtrlCReachesATtyProcess) {
  auto s = spec("ctrlc");
  start(s);
  auto p = process({"/bin/sh", "-c", "echo ready; exec sleep 1000"});
  p.tty = true;
  auto execution = runtime_->exec(s.id, p, true);
  ASSERT_TRUE(execution);
  read_until(**execution, "ready");
  // Until sleep is exec'ed, sh could take the SIGINT itself: 130 either way.
  ASSERT_TRUE((*execution)->write_stdin("\x03"));
  EXPECT_EQ(collect(**execution).exit_code, 130);
}

// The pty comes from the container's own devpts instance: `tty` names it, it is in the
// container's /dev/pts, owned by the process's user, and starts at 24x80.
TEST_F(RuntimeTest, TtyIsAPtyOfTheContainersDevpts) {
  auto s = spec("ownpty");
  s.params.persist = true;
  start(s);
  auto p =
      process({"/bin/sh", "-c",
               "t=$(tty) || exit 9; echo \"tty=$t\"; echo \"ls=$(ls /dev/pts | tr '\\n' ' ')\"; "
               "echo \"fs=$(stat -f -c %T \"$t\")\"; echo \"size=$(stty size)\""});
  p.tty = true;
  auto execution = runtime_->exec(s.id, p, true);
  ASSERT_TRUE(execution) << execution.error().message;
  auto outcome = collect(**execution);
  ASSERT_EQ(outcome.exit_code, 0) << outcome.output;
  const auto at = outcome.output.find("tty=/dev/pts/");
  ASSERT_NE(at, std::string::npos) << outcome.output;
  const std::string number = outcome.output.substr(
      at + 13, outcome.output.find_first_not_of("0123456789", at + 13) - (at + 13));
  ASSERT_FALSE(number.empty()) << outcome.output;
  EXPECT_NE(outcome.output.find("ls=" + number + " ptmx"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("fs=devpts"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("size=24 80"), std::string::npos) << outcome.output;

  // Another user's terminal is its own; the pty is gone with the execution it was made for.
  auto q = process({"/bin/sh", "-c", "stat -c 'owner=%u' $(tty); ls /dev/pts | wc -l"}, "e2");
  q.tty = true;
  q.user = "nobody";
  auto second = runtime_->exec(s.id, q, true);
  ASSERT_TRUE(second) << second.error().message;
  auto other = collect(**second);
  EXPECT_EQ(other.exit_code, 0) << other.output;
  EXPECT_NE(other.output.find("owner=65534"), std::string::npos) << other.output;
  EXPECT_NE(other.output.find("2\r\n"), std::string::npos) << other.output;  // its pty + ptmx
}

// The container's root replaces /dev/ptmx (and tries /dev/pts, which it cannot): the next tty
// execution still gets a pty of the container's devpts, and nothing reaches the file the
// symlink names.
TEST_F(RuntimeTest, AReplacedPtmxDoesNotRedirectTheTerminal) {
  auto s = spec("ptmx");
  s.params.persist = true;
  start(s);
  const std::string passwd_before = [&] {
    std::ifstream in(rootfs_ / "etc/passwd");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  auto attack = run(s.id, {"/bin/sh", "-c",
                           "rm /dev/ptmx && ln -s /etc/passwd /dev/ptmx || exit 9; "
                           "rm -f /dev/pts/ptmx 2>/dev/null && echo removed-pts-ptmx; "
                           "umount -l /dev/pts 2>/dev/null && echo unmounted; "
                           "mv /dev/pts /dev/pts.old 2>/dev/null && echo moved; "
                           "readlink /dev/ptmx"});
  ASSERT_EQ(attack.exit_code, 0) << attack.output;
  EXPECT_EQ(attack.output, "/etc/passwd\n");

  auto p = process({"/bin/sh", "-c", "tty || exit 9; read line; echo \"got $line\""}, "e2");
  p.tty = true;
  auto execution = runtime_->exec(s.id, p, true);
  ASSERT_TRUE(execution) << execution.error().message;
  read_until(**execution, "/dev/pts/");
  ASSERT_TRUE((*execution)->write_stdin("kl-line\n"));
  auto outcome = collect(**execution);
  EXPECT_EQ(outcome.exit_code, 0) << outcome.output;
  EXPECT_NE(outcome.output.find("got kl-line"), std::string::npos) << outcome.output;
  std::ifstream in(rootfs_ / "etc/passwd");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), passwd_before);
}

// Without a /dev in the container (mount.nodevfs) the pty is the host's: a terminal all the
// same (job control, size), but its name does not exist inside.
TEST_F(RuntimeTest, WithoutDevfsATtyComesFromTheHost) {
  auto s = spec("nodevpty");
  s.params.devfs = false;
  start(s);
  auto p = process({"/bin/sh", "-c", "[ -t 0 ] && echo is-a-tty; read x; stty size"});
  p.tty = true;
  auto execution = runtime_->exec(s.id, p, true);
  ASSERT_TRUE(execution) << execution.error().message;
  read_until(**execution, "is-a-tty");
  ASSERT_TRUE((*execution)->resize(40, 100));
  ASSERT_TRUE((*execution)->write_stdin("go\n"));
  auto outcome = collect(**execution);
  EXPECT_NE(outcome.output.find("40 100"), std::string::npos) << outcome.output;
  EXPECT_EQ(outcome.exit_code, 0);
}

// The keeper's footprint target (docs/runtime.md): at most 1 MiB resident after serving tty
// executions (a sanitized build has a dynamic, instrumented keeper: no target).
TEST_F(RuntimeTest, KeeperStaysSmallAfterTtyExecutions) {
  auto s = spec("rss");
  s.params.persist = true;
  const auto state = start(s);
  for (const char* id : {"e1", "e2", "e3"}) {
    auto p = process({"/bin/sh", "-c", "[ -t 0 ] && echo is-a-tty"}, id);
    p.tty = true;
    auto execution = runtime_->exec(s.id, p, true);
    ASSERT_TRUE(execution) << execution.error().message;
    auto outcome = collect(**execution);
    EXPECT_NE(outcome.output.find("is-a-tty"), std::string::npos) << outcome.output;
  }
  std::ifstream status("/proc/" + std::to_string(state.keeper_pid) + "/status");
  long rss_kib = -1;
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) rss_kib = std::stol(line.substr(6));
  }
  ASSERT_GT(rss_kib, 0);
  RecordProperty("keeper_vmrss_kib", static_cast<int>(rss_kib));
  std::printf("keeper VmRSS after 3 tty executions: %ld KiB\n", rss_kib);
#ifndef KLEENE_SANITIZED_TEST
  EXPECT_LE(rss_kib, 1024);
#endif
}

TEST_F(RuntimeTest, PersistOffEndsAnEmptyContainer) {
  auto s = spec("unpersist");
  s.params.persist = true;
  start(s);
  EXPECT_FALSE(run(s.id, {"/bin/true"}).container_ended);
  ASSERT_TRUE(runtime_->update(s.id, JailParams{}));
  expect_container_gone(s.id);
}

TEST_F(RuntimeTest, DetachedExecutionRunsWithoutAClient) {
  auto s = spec("detached");
  start(s);
  auto none = runtime_->exec(s.id, process({"/bin/sh", "-c", "echo noise; sleep 1000"}), false);
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_EQ(*none, nullptr);
  EXPECT_TRUE(runtime_->state(s.id));
  ASSERT_TRUE(runtime_->stop_exec(s.id, "e1", true));
  expect_container_gone(s.id);
}

TEST_F(RuntimeTest, DisconnectedClientLeavesTheProcessRunning) {
  auto s = spec("disconnect");
  start(s);
  std::string pid;
  {
    auto execution =
        runtime_->exec(s.id, process({"/bin/sh", "-c", "echo $$; exec sleep 1000"}), true);
    ASSERT_TRUE(execution);
    pid = read_until(**execution, "\n");
    pid.pop_back();
  }  // kleened's side goes away
  auto probe = run(s.id, {"/bin/sh", "-c", "kill -0 " + pid + " && echo alive"}, "e2");
  EXPECT_EQ(probe.output, "alive\n");
  EXPECT_FALSE(probe.container_ended);
  EXPECT_TRUE(runtime_->stop_exec(s.id, "e1", true));
  expect_container_gone(s.id);
}

TEST_F(RuntimeTest, AdoptFindsRunningContainersAndRemovesStaleDirs) {
  auto s = spec("adopt");
  s.params.persist = true;
  const auto state = start(s);
  fs::create_directories(run_dir_ / "containers/klstale");
  Runtime second(options());
  auto adopted = second.adopt();
  ASSERT_EQ(adopted.size(), 1u);
  EXPECT_EQ(adopted[0].id, s.id);
  EXPECT_EQ(adopted[0].init_pid, state.init_pid);
  EXPECT_EQ(adopted[0].keeper_pid, state.keeper_pid);
  EXPECT_FALSE(fs::exists(run_dir_ / "containers/klstale"));
  EXPECT_TRUE(second.stop(s.id, 1s));
}

TEST_F(RuntimeTest, ContainerSurvivesKleenedSide) {
  auto s = spec("survive");
  const auto state = start(s);
  auto execution = runtime_->exec(s.id, process({"/bin/sleep", "1000"}), true);
  ASSERT_TRUE(execution);
  execution->reset();
  runtime_.reset();  // what a SIGKILLed kleened leaves: nothing on our side
  runtime_ = std::make_unique<Runtime>(options());
  auto now = runtime_->state(s.id);
  ASSERT_TRUE(now);
  EXPECT_EQ(now->init_pid, state.init_pid);
  EXPECT_EQ(::kill(state.init_pid, 0), 0);
  EXPECT_TRUE(runtime_->stop(s.id, 1s));
}

TEST_F(RuntimeTest, ContainerSurvivesASigkilledKleened) {
  auto s = spec("sigkill");
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  const pid_t kleened = ::fork();  // a stand-in kleened: starts the container, then is killed
  ASSERT_GE(kleened, 0);
  if (kleened == 0) {
    Runtime runtime(options());
    int pids[3] = {0, 0, 0};
    if (auto state = runtime.start(s)) {
      pids[0] = state->init_pid;
      pids[1] = state->keeper_pid;
      auto exec = runtime.exec(s.id, process({"/bin/sh", "-c", "echo $$; exec sleep 1000"}), true);
      if (exec) {
        auto event = (*exec)->next();
        if (event) pids[2] = std::atoi(event->data.c_str());
      }
      (void)!::write(write_end.get(), pids, sizeof pids);
      ::pause();  // holding the execution's stream, as kleened would
    }
    ::_exit(1);
  }
  write_end.reset();
  int pids[3] = {0, 0, 0};
  ASSERT_EQ(::read(read_end.get(), pids, sizeof pids), static_cast<ssize_t>(sizeof pids));
  started_.emplace_back(s.id, pids[1]);
  ASSERT_GT(pids[2], 0);
  ASSERT_EQ(::kill(kleened, SIGKILL), 0);
  ASSERT_EQ(::waitpid(kleened, nullptr, 0), kleened);
  auto adopted = runtime_->adopt();
  ASSERT_EQ(adopted.size(), 1u);
  EXPECT_EQ(adopted[0].init_pid, pids[0]);
  EXPECT_EQ(adopted[0].keeper_pid, pids[1]);
  // The execution whose client died with kleened still runs.
  auto probe = run(s.id, {"/bin/kill", "-0", std::to_string(pids[2])}, "e2");
  EXPECT_EQ(probe.exit_code, 0) << probe.output;
  EXPECT_TRUE(runtime_->stop(s.id, 1s));
}

TEST_F(RuntimeTest, AKilledKeeperTakesItsContainerAlongAndAdoptCleansUp) {
  auto s = spec("orphaned");
  const auto state = start(s);
  ASSERT_TRUE(runtime_->exec(s.id, process({"/bin/sleep", "1000"}), false));
  ASSERT_EQ(::kill(state.keeper_pid, SIGKILL), 0);
  EXPECT_TRUE(process_exited(state.keeper_pid, 5s));
  EXPECT_TRUE(process_exited(state.init_pid, 10s));  // its control socket closed
  EXPECT_TRUE(runtime_->adopt().empty());
  EXPECT_FALSE(fs::exists(run_dir_ / "containers" / s.id));
  EXPECT_FALSE(fs::exists(kCgroupRoot / "pids/kleene" / s.id));
}

TEST_F(RuntimeTest, HostnameIsTheIdOrTheGivenName) {
  auto s = spec("host");
  s.params.persist = true;
  start(s);
  EXPECT_EQ(run(s.id, {"/bin/hostname"}).output, s.id + "\n");
  EXPECT_TRUE(runtime_->stop(s.id, 1s));
  auto named = spec("named");
  named.hostname = "klbox";
  start(named);
  EXPECT_EQ(run(named.id, {"/bin/hostname"}).output, "klbox\n");
}

TEST_F(RuntimeTest, OwnNetworkHasOnlyLoopbackUp) {
  auto s = spec("net");
  s.params.persist = true;
  start(s);
  auto devices = run(s.id, {"/bin/tail", "-n", "+3", "/proc/net/dev"});
  EXPECT_EQ(devices.exit_code, 0);
  EXPECT_EQ(std::count(devices.output.begin(), devices.output.end(), '\n'), 1) << devices.output;
  EXPECT_NE(devices.output.find("lo:"), std::string::npos) << devices.output;
  auto lo = run(s.id, {"/bin/ip", "link", "show", "lo"}, "e2");
  EXPECT_NE(lo.output.find(",UP"), std::string::npos) << lo.output;
  EXPECT_TRUE(runtime_->stop(s.id, 1s));
}

TEST_F(RuntimeTest, HostNetworkIsShared) {
  auto s = spec("hostnet");
  s.own_network = false;
  const auto state = start(s);
  char ours[64] = {}, theirs[64] = {};
  ASSERT_GT(::readlink("/proc/self/ns/net", ours, sizeof ours - 1), 0);
  ASSERT_GT(::readlink(("/proc/" + std::to_string(state.init_pid) + "/ns/net").c_str(), theirs,
                       sizeof theirs - 1),
            0);
  EXPECT_STREQ(ours, theirs);
  EXPECT_TRUE(runtime_->stop(s.id, 1s));
}

TEST_F(RuntimeTest, PidOneIsTheInit) {
  auto s = spec("pid1");
  start(s);
  auto outcome = run(s.id, {"/bin/sh", "-c", "cat /proc/1/comm; echo $$"});
  EXPECT_EQ(outcome.output.substr(0, outcome.output.find('\n')), "kleene-init");
  EXPECT_NE(outcome.output.substr(outcome.output.find('\n') + 1), "1\n");
}

TEST_F(RuntimeTest, PidsLimitIsEnforced) {
  auto s = spec("pids");
  s.pids_limit = 4;
  const auto state = start(s);
  const auto cgroup = kCgroupRoot / "pids/kleene" / s.id;
  std::string max;
  std::ifstream(cgroup / "pids.max") >> max;
  EXPECT_EQ(max, "4");
  // The init and an execution joined as whole processes (they join through `tasks`).
  std::stringstream procs;
  procs << std::ifstream(cgroup / "cgroup.procs").rdbuf();
  EXPECT_EQ(procs.str(), std::to_string(state.init_pid) + "\n");
  auto outcome = run(s.id, {"/bin/sh", "-c",
                            "grep pids /proc/self/cgroup; for i in 1 2 3 4 5 6; do sleep 1000 & "
                            "done; echo done"});
  EXPECT_NE(outcome.output.find(":pids:/\n"), std::string::npos) << outcome.output;
  EXPECT_NE(outcome.output.find("Resource temporarily unavailable"), std::string::npos)
      << outcome.output;
  EXPECT_TRUE(runtime_->stop(s.id, 1s));
}

TEST_F(RuntimeTest, BeforeRunSeesTheNamespacesAndItsErrorAbortsTheStart) {
  auto s = spec("hook");
  pid_t seen = 0;
  auto state = runtime_->start(s, [&](const ContainerState& st) -> Result<void> {
    seen = st.init_pid;
    EXPECT_TRUE(fs::exists("/proc/" + std::to_string(st.init_pid) + "/ns/net"));
    return make_error(EIO, "driver failed");
  });
  ASSERT_FALSE(state);
  EXPECT_EQ(state.error().message, "driver failed");
  EXPECT_GT(seen, 0);
  EXPECT_FALSE(runtime_->state(s.id));
  EXPECT_FALSE(fs::exists(run_dir_ / "containers" / s.id));
  EXPECT_FALSE(fs::exists(kCgroupRoot / "pids/kleene" / s.id));
  EXPECT_TRUE(process_exited(seen, 5s));
}

TEST_F(RuntimeTest, StartErrors) {
  auto s = spec("twice");
  s.params.persist = true;
  start(s);
  auto again = runtime_->start(s);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, EEXIST);
  EXPECT_TRUE(runtime_->stop(s.id, 1s));

  auto missing = runtime_->exec("klnothere", process({"/bin/true"}), true);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ENOENT);
  EXPECT_FALSE(runtime_->state("klnothere"));

  auto bad = spec("bad");
  bad.rootfs = base_ / "no-such-rootfs";
  auto failed = runtime_->start(bad);
  ASSERT_FALSE(failed);
  EXPECT_FALSE(fs::exists(run_dir_ / "containers" / bad.id));
  EXPECT_FALSE(fs::exists(kCgroupRoot / "pids/kleene" / bad.id));

  Runtime no_keeper({base_ / "no-such-keeper", run_dir_, kCgroupRoot});
  auto unstartable = no_keeper.start(spec("nokeeper"));
  ASSERT_FALSE(unstartable);
  EXPECT_EQ(unstartable.error().code, ENOENT);
  EXPECT_NE(unstartable.error().message.find("no-such-keeper"), std::string::npos);

  auto invalid = spec("x");
  invalid.id = "../etc";
  EXPECT_EQ(runtime_->start(invalid).error().code, EINVAL);
}

}  // namespace
}  // namespace kleene::runtime
