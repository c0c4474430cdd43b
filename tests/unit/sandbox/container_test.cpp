// The sandbox for real: a forked child unshares mount, pid, uts, ipc, cgroup (and net)
// namespaces, its child enters a busybox rootfs built on /dev/shm and execs a command there.
// Every mount lives in the child's mount namespace, so nothing is left on the host.
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "runtime/sandbox.hpp"

namespace kleene::runtime::sandbox {
namespace {

namespace fs = std::filesystem;

struct RunOptions {
  std::vector<std::string> argv;
  JailParams params;
  std::vector<MountSpec> mounts;
  bool own_network = true;
  std::string user;
  std::string hostname;
  std::string workdir = "/";
  std::vector<std::string> env;
  bool leak_fds = false;  // open fds without O_CLOEXEC before exec_process
};

struct RunResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

[[noreturn]] void fail(const Error& error, int code) {
  const std::string line = error.message + "\n";
  (void)!::write(2, line.data(), line.size());
  ::_exit(code);
}

// Runs as pid 1 of the new pid namespace.
[[noreturn]] void container_main(const fs::path& rootfs, const RunOptions& o) {
  ContainerSpec spec;
  spec.id = "kltest0123ab";
  spec.rootfs = rootfs;
  spec.hostname = o.hostname;
  spec.mounts = o.mounts;
  spec.params = o.params;
  spec.own_network = o.own_network;
  if (auto r = enter_rootfs(spec); !r) fail(r.error(), 120);
  if (auto r = set_hostname(spec); !r) fail(r.error(), 121);
  auto who = resolve_user(o.user);
  if (!who) fail(who.error(), 122);
  ProcessSpec process;
  process.argv = o.argv;
  process.env = final_env(o.env, *who, o.params.clean_env, false);
  process.workdir = o.workdir;
  if (o.leak_fds) {
    ::dup2(::open("/", O_RDONLY), 7);
    ::dup2(1, 9);
  }
  const Error error = exec_process(process, *who, o.params);
  fail(error, error.code == ENOENT ? 127 : error.code == EACCES ? 126 : 125);
}

RunResult run(const fs::path& rootfs, const RunOptions& o) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return {};
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
    if (o.own_network) flags |= CLONE_NEWNET;
    if (::unshare(flags) != 0) fail(Error{errno, "unshare failed"}, 119);
    const pid_t init = ::fork();
    if (init == 0) container_main(rootfs, o);
    int status = 0;
    if (init < 0 || ::waitpid(init, &status, 0) != init) ::_exit(118);
    ::_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  }
  ::close(out[1]);
  RunResult result;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    result.output.append(buf, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, 0) == pid && WIFEXITED(status))
    result.exit_code = WEXITSTATUS(status);
  return result;
}

std::size_t mount_count() {
  std::ifstream in("/proc/self/mountinfo");
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);)
    ++n;
  return n;
}

class Container : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char templ[] = "/dev/shm/kl-sandbox-XXXXXX";
    ASSERT_NE(::mkdtemp(templ), nullptr);
    dir_ = templ;
    rootfs_ = dir_ / "rootfs";
    for (const char* d : {"bin", "etc", "proc", "sys", "dev", "tmp", "root", "usr/bin"})
      fs::create_directories(rootfs_ / d);
    fs::copy_file("/bin/busybox", rootfs_ / "bin/busybox");
    for (const char* applet :
         {"sh", "ls", "cat", "touch", "ping", "grep", "id", "hostname", "env", "echo", "pwd", "wc",
          "true", "stat", "mkdir", "readlink", "head", "test", "sort"})
      fs::create_symlink("busybox", rootfs_ / "bin" / applet);
    fs::copy_file(KLEENE_SANDBOX_PROBE, rootfs_ / "bin/kl-probe");
    std::ofstream(rootfs_ / "etc/passwd")
        << "root:x:0:0:root:/root:/bin/sh\n"
           "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
    std::ofstream(rootfs_ / "etc/group") << "root:x:0:\nnogroup:x:65534:\n";
    // Hostile image content: absolute and relative symlinks that point at host paths.
    fs::create_symlink("/etc", rootfs_ / "data");
    fs::create_symlink("../../../../../../../../etc", rootfs_ / "escape");
    fs::create_directories(dir_ / "src");
    std::ofstream(dir_ / "src/marker") << "kl-marker\n";
    std::ofstream(dir_ / "srcfile") << "kl-file\n";
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    mounts_before_ = mount_count();
  }
  void TearDown() override { EXPECT_EQ(mount_count(), mounts_before_) << "a mount leaked"; }

  static RunResult sh(const std::string& script, RunOptions o = {}) {
    o.argv = {"/bin/sh", "-c", script};
    return run(rootfs_, o);
  }
  static RunResult probe(const std::string& what, JailParams params = {}) {
    RunOptions o;
    o.argv = {"kl-probe", what};
    o.params = params;
    return run(rootfs_, o);
  }

  static inline fs::path dir_;
  static inline fs::path rootfs_;
  std::size_t mounts_before_ = 0;
};

TEST_F(Container, ProcIsTheContainersOwn) {
  const auto r = sh("echo $$; readlink /proc/1/exe; readlink /proc/self/ns/pid | wc -c");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(r.output.starts_with("1\n/bin/busybox\n")) << r.output;
}

TEST_F(Container, HostnameIsTheIdOrTheParameter) {
  auto r = sh("hostname");
  EXPECT_EQ(r.output, "kltest0123ab\n");
  RunOptions o;
  o.params.hostname = "klweb";
  r = sh("hostname", o);
  EXPECT_EQ(r.output, "klweb\n");
}

TEST_F(Container, MinimalDev) {
  auto r =
      sh("ls /dev; stat -c '%a %F' /dev /dev/null /dev/pts; readlink /dev/ptmx; readlink /dev/fd; "
         "echo hi > /dev/null && head -c 4 /dev/zero | wc -c");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output,
            "fd\nfull\nnull\nptmx\npts\nrandom\nshm\nstderr\nstdin\nstdout\ntty\nurandom\nzero\n"
            "755 directory\n666 character special file\n755 directory\n"
            "pts/ptmx\n/proc/self/fd\n4\n");
  RunOptions o;
  o.params.devfs = false;
  r = sh("ls -A /dev | wc -l", o);
  EXPECT_EQ(r.output, "0\n");
}

TEST_F(Container, MaskedAndReadOnlyPaths) {
  // Whichever of the masked paths this kernel has: files read empty, directories are empty.
  std::string script;
  std::string expected;
  for (const char* file : {"/proc/kcore", "/proc/keys", "/proc/timer_list", "/proc/sched_debug"})
    if (fs::exists(file)) {
      script += std::string("wc -c < ") + file + "; ";
      expected += "0\n";
    }
  for (const char* dir : {"/proc/acpi", "/proc/scsi", "/sys/firmware"})
    if (fs::exists(dir)) {
      script += std::string("ls -A ") + dir + " | wc -l; ";
      expected += "0\n";
    }
  ASSERT_FALSE(expected.empty());
  auto r = sh(script);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, expected);
  r = sh("echo kl > /proc/sys/kernel/domainname");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("Read-only file system"), std::string::npos) << r.output;
  r = sh("touch /sys/kl");
  EXPECT_NE(r.output.find("Read-only file system"), std::string::npos) << r.output;
}

TEST_F(Container, SymlinkedMountTargetStaysInsideTheRootfs) {
  RunOptions o;
  o.mounts = {{dir_ / "src", "/data", false}};
  auto r = sh("cat /data/marker /etc/marker", o);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "kl-marker\nkl-marker\n");
  o.mounts = {{dir_ / "src", "/escape/kl-sub", false}};
  r = sh("cat /etc/kl-sub/marker", o);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "kl-marker\n");
  EXPECT_TRUE(fs::is_directory(rootfs_ / "etc/kl-sub")) << "created inside the rootfs";
  EXPECT_FALSE(fs::exists("/etc/kl-sub"));
  EXPECT_FALSE(fs::exists("/etc/marker"));
  fs::remove(rootfs_ / "etc/kl-sub");
}

TEST_F(Container, DotDotAndDanglingTargets) {
  RunOptions o;
  o.mounts = {{dir_ / "src", "/../../tmp/../kl-dots", false}};
  auto r = sh("cat /kl-dots/marker", o);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "kl-marker\n");
  EXPECT_TRUE(fs::is_directory(rootfs_ / "kl-dots"));
  fs::remove(rootfs_ / "kl-dots");
  // A link to /tmp is the image's /tmp.
  fs::create_symlink("/tmp", rootfs_ / "kl-link");
  o.mounts = {{dir_ / "src", "/kl-link/sub", false}};
  r = sh("cat /tmp/sub/marker", o);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::is_directory(rootfs_ / "tmp/sub"));
  fs::remove(rootfs_ / "tmp/sub");
  fs::remove(rootfs_ / "kl-link");
  // A link dangling inside the rootfs (even to a host path that exists: /dev/shm) is refused,
  // never followed on the host nor replaced.
  for (const char* target : {"/dev/shm", "/kl-nowhere/x"}) {
    fs::create_symlink(target, rootfs_ / "kl-dangling");
    o.mounts = {{dir_ / "src", "/kl-dangling/sub", false}};
    r = sh("true", o);
    EXPECT_EQ(r.exit_code, 120);
    EXPECT_EQ(r.output, "resolve /kl-dangling in the container: No such file or directory\n");
    fs::remove(rootfs_ / "kl-dangling");
  }
  EXPECT_FALSE(fs::exists("/dev/shm/sub"));
  r = sh("true", o);
  EXPECT_FALSE(fs::exists("/kl-nowhere"));
}

TEST_F(Container, MountTargetsAreCreated) {
  RunOptions o;
  o.mounts = {{dir_ / "src", "/a/b/c", false}, {dir_ / "srcfile", "/x/y/file.txt", false}};
  const auto r = sh("cat /a/b/c/marker /x/y/file.txt", o);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "kl-marker\nkl-file\n");
  fs::remove_all(rootfs_ / "a");
  fs::remove_all(rootfs_ / "x");
}

TEST_F(Container, ReadOnlyBind) {
  RunOptions o;
  o.mounts = {{dir_ / "src", "/ro", true}, {dir_ / "src", "/rw", false}};
  auto r = sh("touch /ro/kl-x", o);
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.output.find("Read-only file system"), std::string::npos) << r.output;
  r = sh("touch /rw/kl-x && cat /ro/marker", o);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir_ / "src/kl-x"));
  fs::remove(dir_ / "src/kl-x");
  fs::remove_all(rootfs_ / "ro");
  fs::remove_all(rootfs_ / "rw");
}

TEST_F(Container, FdsAboveTwoAreClosed) {
  RunOptions o;
  o.argv = {"ls", "/proc/self/fd"};
  o.leak_fds = true;
  const auto r = run(rootfs_, o);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output, "0\n1\n2\n3\n");  // 3: ls's own directory
}

TEST_F(Container, CapabilitiesNoNewPrivsSeccomp) {
  const std::string script = "grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status";
  auto r = sh(script);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output,
            "CapInh:\t0000000000000000\nCapPrm:\t00000000800405fb\nCapEff:\t00000000800405fb\n"
            "CapBnd:\t00000000800405fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n"
            "Seccomp:\t2\n");
  RunOptions o;
  o.user = "nobody";
  r = sh(script + "; id", o);
  EXPECT_EQ(r.output,
            "CapInh:\t0000000000000000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
            "CapBnd:\t00000000800405fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n"
            "Seccomp:\t2\nuid=65534(nobody) gid=65534(nogroup)\n");
  o = {};
  o.params.raw_sockets = o.params.mlock = o.params.chflags = true;
  r = sh("grep CapEff /proc/self/status", o);
  EXPECT_EQ(r.output, "CapEff:\t00000000800467fb\n");  // + IPC_LOCK NET_RAW LINUX_IMMUTABLE
}

TEST_F(Container, PingNeedsRawSockets) {
  RunOptions o;
  o.own_network = false;  // the host driver: 127.0.0.1 answers
  o.argv = {"ping", "-c1", "-W2", "127.0.0.1"};
  auto r = run(rootfs_, o);
  EXPECT_NE(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("permission denied"), std::string::npos) << r.output;
  o.params.raw_sockets = true;
  r = run(rootfs_, o);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("1 packets received"), std::string::npos) << r.output;
}

TEST_F(Container, SeccompDefaults) {
  for (const char* what : {"shm", "msg", "sem", "ping4", "ping6", "raw", "packet", "mlock",
                           "unshare", "clone_ns", "personality"})
    EXPECT_EQ(probe(what).output, "errno 1\n") << what;
  for (const char* what : {"tcp", "clone"})
    EXPECT_EQ(probe(what).output, "ok\n") << what;
}

TEST_F(Container, SeccompParameters) {
  JailParams ipc;
  ipc.sysvipc = true;
  for (const char* what : {"shm", "msg", "sem"})
    EXPECT_EQ(probe(what, ipc).output, "ok\n") << what;
  EXPECT_EQ(probe("mlock", ipc).output, "errno 1\n");
  JailParams mlock;
  mlock.mlock = true;
  EXPECT_EQ(probe("mlock", mlock).output, "ok\n");
  EXPECT_EQ(probe("shm", mlock).output, "errno 1\n");
  JailParams raw;
  raw.raw_sockets = true;
  EXPECT_EQ(probe("raw", raw).output, "ok\n");
  // Past seccomp: the kernel's own answer (ping_group_range is "1 0" in a new netns).
  EXPECT_EQ(probe("ping4", raw).output, "errno 13\n");
}

TEST_F(Container, UserWorkdirEnv) {
  RunOptions o;
  o.workdir = "/tmp";
  o.env = {"KL=1"};
  auto r = sh("pwd; env | grep -v '^PWD=' | grep -v '^SHLVL=' | sort", o);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(r.output,
            "/tmp\nHOME=/root\nKL=1\n"
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
            "SHELL=/bin/sh\nUSER=root\n");
  o = {};
  o.user = "ghost";
  r = sh("true", o);
  EXPECT_EQ(r.exit_code, 122);
  EXPECT_EQ(r.output, "unable to find user ghost: no matching entries in passwd file\n");
}

TEST_F(Container, ExecErrors) {
  RunOptions o;
  o.argv = {"/bin/kl-nope"};
  auto r = run(rootfs_, o);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_EQ(r.output, "exec /bin/kl-nope: No such file or directory\n");
  o.argv = {"kl-nope"};
  r = run(rootfs_, o);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_EQ(r.output, "exec kl-nope: executable file not found in $PATH\n");
  o.argv = {"/etc/passwd"};
  r = run(rootfs_, o);
  EXPECT_EQ(r.exit_code, 126);
  EXPECT_EQ(r.output, "exec /etc/passwd: Permission denied\n");
  o.argv = {"true"};
  o.workdir = "/kl-missing";
  r = run(rootfs_, o);
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_EQ(r.output, "chdir /kl-missing: No such file or directory\n");
}

}  // namespace
}  // namespace kleene::runtime::sandbox
