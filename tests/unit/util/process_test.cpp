#include "util/process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "util/strings.hpp"
#include "util/unique_fd.hpp"

namespace kleene {
namespace {

using namespace std::chrono_literals;

ProcessResult run_ok(ProcessSpec spec) {
  auto r = run_process(spec);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : ProcessResult{-1, "", ""};
}

ProcessResult sh(const std::string& script) {
  return run_ok({.argv = {"/bin/sh", "-c", script}});
}

// Whether a process is gone (or a zombie nobody reaped yet, which runs no code).
bool process_gone(pid_t pid) {
  if (::kill(pid, 0) != 0) return true;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  const auto close_paren = line.rfind(')');
  return close_paren != std::string::npos && line.substr(close_paren + 2, 1) == "Z";
}

TEST(Process, ExitCode) {
  EXPECT_EQ(sh("exit 0").exit_code, 0);
  EXPECT_EQ(sh("exit 7").exit_code, 7);
  EXPECT_EQ(run_ok({.argv = {"/bin/false"}}).exit_code, 1);
}

TEST(Process, SignalIs128PlusN) {
  EXPECT_EQ(sh("kill -TERM $$").exit_code, 128 + SIGTERM);
  EXPECT_EQ(sh("kill -KILL $$").exit_code, 128 + SIGKILL);
}

TEST(Process, CapturesBothStreams) {
  const auto r = sh("echo out; echo err >&2; echo more");
  EXPECT_EQ(r.out, "out\nmore\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST(Process, ArgvIsNotInterpreted) {
  const auto r = run_ok({.argv = {"/bin/echo", "$HOME; rm -rf /", "`id`"}});
  EXPECT_EQ(r.out, "$HOME; rm -rf / `id`\n");
}

TEST(Process, Stdin) {
  const auto r = run_ok({.argv = {"/bin/cat"}, .stdin_data = "hello\nworld"});
  EXPECT_EQ(r.out, "hello\nworld");
  // No stdin data: the child sees EOF at once rather than hanging.
  EXPECT_EQ(run_ok({.argv = {"/bin/cat"}}).out, "");
}

TEST(Process, BigStdinThroughCatDoesNotDeadlock) {
  std::string data(4 * 1024 * 1024, 'x');
  for (std::size_t i = 0; i < data.size(); i += 4093)
    data[i] = char('a' + i % 26);
  const auto r = run_ok({.argv = {"/bin/cat"}, .stdin_data = data});
  EXPECT_EQ(r.out.size(), data.size());
  EXPECT_TRUE(r.out == data);
}

TEST(Process, BigOutputOnBothStreamsDoesNotDeadlock) {
  // Alternate between the streams so that a reader draining only one of them would block the
  // child on the other's full pipe.
  const auto r =
      sh("i=0; while [ $i -lt 40 ]; do head -c 65536 /dev/zero; head -c 65536 /dev/zero >&2; "
         "i=$((i+1)); done");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), 40u * 65536);
  EXPECT_EQ(r.err.size(), 40u * 65536);
}

TEST(Process, ChildIgnoringStdinDoesNotKillUs) {
  const auto r = run_ok({.argv = {"/bin/true"}, .stdin_data = std::string(1 << 20, 'x')});
  EXPECT_EQ(r.exit_code, 0);
}

TEST(Process, OutputLimit) {
  const auto r =
      run_process({.argv = {"/bin/sh", "-c", "head -c 100000 /dev/zero"}, .max_output = 4096});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, EMSGSIZE);
}

TEST(Process, TimeoutKillsTheProcessGroup) {
  char dir_template[] = "/tmp/kleene-proc-XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::filesystem::path dir(dir_template);
  const auto pids = dir / "pids";
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_process({.argv = {"/bin/sh", "-c",
                                       "echo $$ > " + pids.string() + "; sleep 30 & echo $! >> " +
                                           pids.string() + "; wait"},
                              .timeout = 300ms});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ETIMEDOUT);
  EXPECT_LT(elapsed, 10s);
  std::ifstream in(pids);
  pid_t pid = 0;
  int count = 0;
  while (in >> pid) {
    ++count;
    // The shell is reaped by run_process; the orphaned sleep may await its new parent's
    // reaping, but must not be running.
    for (int i = 0; i < 500 && !process_gone(pid); ++i)
      std::this_thread::sleep_for(10ms);
    EXPECT_TRUE(process_gone(pid)) << pid;
    if (!process_gone(pid)) ::kill(pid, SIGKILL);
  }
  EXPECT_EQ(count, 2);
  std::filesystem::remove_all(dir);
}

TEST(Process, TimeoutAppliesAfterTheChildClosesItsOutput) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = run_process(
      {.argv = {"/bin/sh", "-c", "exec >/dev/null 2>&1; exec sleep 30"}, .timeout = 300ms});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ETIMEDOUT);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(Process, BackgroundGrandchildDoesNotHoldTheCall) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = sh("sleep 30 & echo $!");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  const pid_t grandchild = std::stoi(r.out);
  ASSERT_GT(grandchild, 1);
  ::kill(grandchild, SIGKILL);
}

TEST(Process, RefusesRelativeOrEmptyArgv) {
  for (const auto& argv :
       std::vector<std::vector<std::string>>{{"sh", "-c", "true"}, {"./sh"}, {""}, {}}) {
    const auto r = run_process({.argv = argv});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EINVAL);
  }
}

TEST(Process, MissingProgram) {
  const auto r = run_process({.argv = {"/nonexistent/kleene-nothing"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_NE(r.error().message.find("/nonexistent/kleene-nothing"), std::string::npos);
}

TEST(Process, NoFdLeaksIntoTheChild) {
  // An fd opened without O_CLOEXEC (as a careless library might) must still not reach the child.
  UniqueFd devnull(::open("/dev/null", O_RDONLY));
  ASSERT_TRUE(devnull);
  UniqueFd leaky(::dup2(devnull.get(), 100));
  ASSERT_EQ(leaky.get(), 100);
  ASSERT_EQ(::fcntl(leaky.get(), F_GETFD) & FD_CLOEXEC, 0);

  const auto r = run_ok({.argv = {"/bin/ls", "/proc/self/fd"}});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& entry : split(std::string(r.out), '\n')) {
    if (entry.empty()) continue;
    // 0-2 are the pipes; 3 is ls's own handle on the directory it lists.
    EXPECT_TRUE(entry == "0" || entry == "1" || entry == "2" || entry == "3") << entry;
  }
}

TEST(Process, EnvironmentIsExactlyWhatIsGiven) {
  ASSERT_EQ(::setenv("KLEENE_TEST_SECRET", "leak", 1), 0);
  EXPECT_EQ(run_ok({.argv = {"/usr/bin/env"}}).out, "");
  EXPECT_EQ(run_ok({.argv = {"/usr/bin/env"}, .env = std::vector<std::string>{}}).out, "");
  EXPECT_EQ(run_ok({.argv = {"/usr/bin/env"}, .env = std::vector<std::string>{"A=1", "B=x y"}}).out,
            "A=1\nB=x y\n");
  ::unsetenv("KLEENE_TEST_SECRET");
  const auto bad = run_process({.argv = {"/usr/bin/env"}, .env = std::vector<std::string>{"A"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, EINVAL);
}

TEST(Process, ManyThreadsAtOnce) {
  constexpr int kThreads = 8;
  constexpr int kRuns = 25;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, &failures] {
      for (int i = 0; i < kRuns; ++i) {
        const std::string word = "t" + std::to_string(t) + "-" + std::to_string(i);
        const auto r = run_process({.argv = {"/bin/cat"}, .stdin_data = word});
        if (!r || r->out != word || r->exit_code != 0) ++failures[t];
      }
    });
  }
  for (auto& th : threads)
    th.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(failures[t], 0) << "thread " << t;
}

}  // namespace
}  // namespace kleene
