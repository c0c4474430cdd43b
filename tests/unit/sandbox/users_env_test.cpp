// resolve_user on a temp root, final_env, the capability allow-list.
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <span>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/sandbox.hpp"
#include "runtime/sandbox/internal.hpp"

namespace kleene::runtime::sandbox {
namespace {

namespace fs = std::filesystem;

class TempRoot : public ::testing::Test {
 protected:
  void SetUp() override {
    char templ[] = "/dev/shm/kl-sandbox-users-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    root_ = templ;
    fs::create_directories(root_ / "etc");
  }
  void TearDown() override { fs::remove_all(root_); }
  void write(const fs::path& rel, const std::string& text) { std::ofstream(root_ / rel) << text; }
  void standard_files() {
    write("etc/passwd",
          "root:x:0:0:root:/root:/bin/sh\n"
          "# a comment\n"
          "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
          "broken line\n"
          "www:x:33:33:www-data:/var/www:\n"
          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
    write("etc/group",
          "root:x:0:\n"
          "daemon:x:1:www\n"
          "tty:x:5:\n"
          "audio:x:29:www,nobody\n"
          "www-data:x:33:\n"
          "nogroup:x:65534:\n");
  }
  fs::path root_;
};

TEST_F(TempRoot, EmptyUserIsRoot) {
  standard_files();
  const auto who = resolve_user_at(root_, "");
  ASSERT_TRUE(who.has_value()) << who.error().message;
  EXPECT_EQ(who->uid, 0U);
  EXPECT_EQ(who->gid, 0U);
  EXPECT_EQ(who->name, "root");
  EXPECT_EQ(who->home, "/root");
  EXPECT_EQ(who->shell, "/bin/sh");
  EXPECT_TRUE(who->groups.empty());
}

TEST_F(TempRoot, NamesAndNumbers) {
  standard_files();
  auto who = resolve_user_at(root_, "www");
  ASSERT_TRUE(who.has_value()) << who.error().message;
  EXPECT_EQ(who->uid, 33U);
  EXPECT_EQ(who->gid, 33U);
  EXPECT_EQ(who->home, "/var/www");
  EXPECT_EQ(who->shell, "/bin/sh");  // empty shell field: the default
  EXPECT_EQ(who->groups, (std::vector<gid_t>{1, 29}));

  who = resolve_user_at(root_, "65534");
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->name, "nobody");
  EXPECT_EQ(who->gid, 65534U);
  EXPECT_EQ(who->groups, std::vector<gid_t>{29});

  who = resolve_user_at(root_, "1000");  // not in passwd: allowed, gid 0
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->uid, 1000U);
  EXPECT_EQ(who->gid, 0U);
  EXPECT_EQ(who->home, "/");
  EXPECT_TRUE(who->groups.empty());

  who = resolve_user_at(root_, "1000:1000");
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->uid, 1000U);
  EXPECT_EQ(who->gid, 1000U);

  who = resolve_user_at(root_, "www:tty");
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->uid, 33U);
  EXPECT_EQ(who->gid, 5U);

  who = resolve_user_at(root_, "daemon:0");
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->uid, 1U);
  EXPECT_EQ(who->gid, 0U);
}

TEST_F(TempRoot, UnknownUserAndGroup) {
  standard_files();
  auto who = resolve_user_at(root_, "ghost");
  ASSERT_FALSE(who.has_value());
  EXPECT_EQ(who.error().code, ENOENT);
  EXPECT_EQ(who.error().message, "unable to find user ghost: no matching entries in passwd file");
  who = resolve_user_at(root_, "www:ghosts");
  ASSERT_FALSE(who.has_value());
  EXPECT_EQ(who.error().code, ENOENT);
  EXPECT_EQ(who.error().message, "unable to find group ghosts: no matching entries in group file");
  EXPECT_FALSE(resolve_user_at(root_, "-1").has_value());
  EXPECT_FALSE(resolve_user_at(root_, "99999999999").has_value());
}

TEST_F(TempRoot, MissingDatabases) {
  auto who = resolve_user_at(root_, "");
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->uid, 0U);
  EXPECT_EQ(who->home, "/");
  who = resolve_user_at(root_, "123:456");
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->gid, 456U);
  EXPECT_FALSE(resolve_user_at(root_, "daemon").has_value());
  // "root" (Kleene's default image user) works without an entry, like "".
  who = resolve_user_at(root_, "root");
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->uid, 0U);
  EXPECT_EQ(who->name, "root");
  who = resolve_user_at(root_, "root:7");
  ASSERT_TRUE(who.has_value());
  EXPECT_EQ(who->gid, 7U);
}

TEST_F(TempRoot, SymlinkedPasswdStaysInsideTheRoot) {
  // /etc/passwd -> /etc/shadow-of-host: must resolve to <root>/etc/..., never the host's file.
  write("etc/inner", "kl:x:4242:4242:kl:/kl:/bin/sh\n");
  fs::create_symlink("/etc/inner", root_ / "etc/passwd");
  fs::create_symlink("../../../../../../etc/group", root_ / "etc/group-link");
  auto who = resolve_user_at(root_, "kl");
  ASSERT_TRUE(who.has_value()) << who.error().message;
  EXPECT_EQ(who->uid, 4242U);
  // The host's entries are not visible through the link.
  fs::remove(root_ / "etc/passwd");
  fs::create_symlink("/etc/passwd-host-does-not-exist-in-root", root_ / "etc/passwd");
  EXPECT_FALSE(resolve_user_at(root_, "daemon").has_value());
  EXPECT_FALSE(resolve_user_at(root_, "nobody").has_value());
}

TEST(FinalEnv, CleanDefaultsThenEnv) {
  Credentials who;
  who.name = "www";
  who.home = "/var/www";
  who.shell = "/bin/ash";
  const auto env =
      final_env({"A=1", "PATH=/bin", "A=2", "NOEQ", "=x", "B="}, who, true, false, {"LEAK=1"});
  EXPECT_EQ(env, (std::vector<std::string>{"HOME=/var/www", "USER=www", "SHELL=/bin/ash",
                                           "PATH=/bin", "A=2", "B="}));
}

TEST(FinalEnv, TermOnlyWithTty) {
  const Credentials who;
  auto env = final_env({}, who, true, true);
  EXPECT_EQ(
      env, (std::vector<std::string>{
               "HOME=/", "USER=root", "SHELL=/bin/sh",
               "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"}));
  env = final_env({"TERM=vt100"}, who, true, true);
  EXPECT_EQ(env.back(), "TERM=vt100");
  EXPECT_EQ(std::count_if(env.begin(), env.end(),
                          [](const std::string& e) { return e.starts_with("TERM="); }),
            1);
}

TEST(FinalEnv, NoCleanKeepsInherited) {
  const Credentials who;
  const auto env = final_env({"B=2", "C=3"}, who, false, false, {"A=1", "B=1", "junk"});
  EXPECT_EQ(env, (std::vector<std::string>{"A=1", "B=2", "C=3"}));
}

// The keeper's child merges an exec's env in linear time: 200 000 names, each set twice, took
// minutes with a search per entry (a ctest timeout catches a return of that).
TEST(FinalEnv, ManyNamesStayLinear) {
  const Credentials who;
  std::vector<std::string> env, inherited;
  for (int i = 0; i < 200'000; ++i) {
    env.push_back("K" + std::to_string(i) + "=1");
    inherited.push_back("K" + std::to_string(i) + "=0");
  }
  for (int i = 0; i < 200'000; ++i)
    env.push_back("K" + std::to_string(i) + "=2");
  const auto merged = final_env(env, who, false, false, inherited);
  ASSERT_EQ(merged.size(), 200'000u);
  EXPECT_EQ(merged.front(), "K0=2");
  EXPECT_EQ(merged.back(), "K199999=2");
  const auto inherited_twice = final_env({}, who, false, false, {"A=1", "B=1", "A=2"});
  EXPECT_EQ(inherited_twice, (std::vector<std::string>{"A=2", "B=1"}));
}

TEST(Capabilities, DefaultAllowList) {
  EXPECT_EQ(
      default_capabilities(),
      (std::vector<std::string>{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
                                "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID",
                                "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT"}));
  const JailParams defaults;
  const std::uint64_t base = capability_mask(defaults);
  EXPECT_EQ(base, 0x800405fbULL);  // Docker's default minus AUDIT_WRITE, MKNOD, NET_RAW
  JailParams all;
  all.raw_sockets = all.mlock = all.chflags = true;
  EXPECT_EQ(capability_mask(all),
            base | 1ULL << CAP_NET_RAW | 1ULL << CAP_IPC_LOCK | 1ULL << CAP_LINUX_IMMUTABLE);
}

TEST(Seccomp, OneFilterPerCombination) {
  JailParams p;
  const auto base = seccomp_program(p).size();
  EXPECT_GT(base, 100U);
  EXPECT_LT(base, 4096U);  // BPF_MAXINSNS
  p.raw_sockets = true;
  EXPECT_NE(seccomp_program(p).size(), base);
}

// What the kernel does with a filter, for the tests below: runs it on one syscall (x86_64, the
// given number, arguments zero) the way seccomp does. The result and how many instructions ran.
struct BpfRun {
  std::uint32_t action = 0;
  int instructions = 0;
};
BpfRun run_filter(std::span<const sock_filter> program, int nr) {
  seccomp_data data{};
  data.nr = nr;
  data.arch = AUDIT_ARCH_X86_64;
  std::uint32_t a = 0;
  BpfRun out;
  for (std::size_t pc = 0; pc < program.size(); ++out.instructions) {
    const sock_filter& insn = program[pc];
    switch (insn.code) {
      case BPF_LD | BPF_W | BPF_ABS:
        std::memcpy(&a, reinterpret_cast<const char*>(&data) + insn.k, sizeof a);
        ++pc;
        break;
      case BPF_ALU | BPF_AND | BPF_K:
        a &= insn.k;
        ++pc;
        break;
      case BPF_JMP | BPF_JEQ | BPF_K:
        pc += 1 + (a == insn.k ? insn.jt : insn.jf);
        break;
      case BPF_JMP | BPF_JGT | BPF_K:
        pc += 1 + (a > insn.k ? insn.jt : insn.jf);
        break;
      case BPF_JMP | BPF_JGE | BPF_K:
        pc += 1 + (a >= insn.k ? insn.jt : insn.jf);
        break;
      case BPF_JMP | BPF_JA:
        pc += 1 + insn.k;
        break;
      case BPF_RET | BPF_K:
        out.action = insn.k;
        ++out.instructions;
        return out;
      default:
        ADD_FAILURE() << "instruction 0x" << std::hex << insn.code << " not emulated";
        return out;
    }
  }
  ADD_FAILURE() << "ran off the end of the filter";
  return out;
}

// The filter is a binary tree over the syscall numbers (libseccomp's optimize level 2), not a
// list: installing it makes the kernel run it once per syscall number (its cache of
// always-allowed calls), and each call that the cache does not settle runs it again. As a list
// (~420 instructions) the worst call ran 373 of them and an install took ~300 us per start and
// per exec; as a tree none runs more than 28.
TEST(Seccomp, EverySyscallIsDecidedInAFewInstructions) {
  for (unsigned index = 0; index < 8; ++index) {
    JailParams p;
    p.raw_sockets = (index & 1) != 0;
    p.sysvipc = (index & 2) != 0;
    p.mlock = (index & 4) != 0;
    const auto program = seccomp_program(p);
    int worst = 0;
    for (int nr = 0; nr < 512; ++nr)
      worst = std::max(worst, run_filter(program, nr).instructions);
    EXPECT_LE(worst, 40) << "filter " << index;
    EXPECT_EQ(run_filter(program, __NR_getpid).action, SECCOMP_RET_ALLOW);
    EXPECT_NE(run_filter(program, __NR_kexec_load).action, SECCOMP_RET_ALLOW);
    EXPECT_EQ(run_filter(program, __NR_msgget).action == SECCOMP_RET_ALLOW, p.sysvipc);
  }
}

// The archive extractor's filter, in a forked child: what it denies fails with EPERM, what an
// extraction needs (files, memory, a thread) still works. Each check is a bit of the exit code.
TEST(Seccomp, TheExtractFilterKeepsTheExtractorInItsProcess) {
  const pid_t parent = ::getpid();
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int failed = 0;
    const auto expect_eperm = [&](long rc, int bit) {
      if (rc != -1 || errno != EPERM) failed |= 1 << bit;
    };
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || !install_extract_seccomp()) ::_exit(100);
    expect_eperm(::socket(AF_UNIX, SOCK_STREAM, 0), 0);
    char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
    expect_eperm(::execve("/bin/true", argv, nullptr), 1);
    expect_eperm(::kill(parent, 0), 2);
    expect_eperm(::ptrace(PTRACE_ATTACH, parent, nullptr, nullptr), 3);
    expect_eperm(::unshare(CLONE_NEWUSER), 4);
    expect_eperm(::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0), 5);
    expect_eperm(::mount("none", "/tmp", "tmpfs", 0, nullptr), 6);
    // Allowed: files, and a thread (clone3 is ENOSYS, libc falls back to clone).
    const int fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "x", 1) != 1 || ::close(fd) != 0) failed |= 1 << 7;
    bool ran = false;
    std::thread([&] { ran = true; }).join();
    if (!ran) failed |= 1 << 8;
    ::_exit(failed);  // no atexit handlers (LeakSanitizer's would need ptrace)
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << status;
  EXPECT_EQ(WEXITSTATUS(status), 0) << "bits of the checks that failed";
}

}  // namespace
}  // namespace kleene::runtime::sandbox
