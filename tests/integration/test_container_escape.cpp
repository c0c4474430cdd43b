// Escape attempts against the real stack: a real kleened on a throw-away ZFS pool, a hostile
// busybox image (symlinks pointing at host paths), containers started with klee. Each test
// asserts what the process inside sees; the harness checks after each test that no process,
// mount or cgroup was left behind.
#include <filesystem>
#include <fstream>
#include <memory>

#include "container_fixture.hpp"

namespace kleene::it {
namespace {

namespace fs = std::filesystem;

constexpr const char* kImage = "kl-escape";
// CapBnd/CapEff of a root process with the default allow-list (docs/jail-parameters.md).
constexpr const char* kDefaultCaps = "00000000800405fb";

class ContainerEscapeTest : public PoolKleenedTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(start_on_pool());
    ASSERT_NO_FATAL_FAILURE(make_hostile_image());
    fs::create_directories(dir.file("hostsrc"));
    write_file(dir.file("hostsrc/marker"), "kl-marker\n");
  }

  void TearDown() override {
    if (daemon.running()) {
      EXPECT_TRUE(daemon.stop());
    }
    pool_.reset();
  }

  // The busybox test image plus links an attacker would plant: /data -> /etc (absolute),
  // /escape -> ../../../../../etc (relative), /hostshm -> /dev/shm (exists on the host only).
  void make_hostile_image() {
    const std::string base = dir.file("base.tar.gz");
    const std::string tree = dir.file("image");
    const std::string tarball = dir.file("hostile.tar.gz");
    const std::string script =
        "set -e; '" + paths::fixtures() + "/make-busybox-rootfs' '" + base +
        "' >/dev/null; mkdir '" + tree + "'; tar -xzf '" + base + "' -C '" + tree +
        "'; ln -s /etc '" + tree + "/data'; ln -s ../../../../../etc '" + tree +
        "/escape'; ln -s /dev/shm '" + tree + "/hostshm'; tar --owner=0 --group=0 -C '" + tree +
        "' -czf '" + tarball + "' .";
    auto made = run_command({"/bin/sh", "-c", script}, test_environment());
    ASSERT_EQ(made.exit_code, 0) << describe(made);
    auto created = klee({"image", "create", "-t", kImage, "fetch", "file://" + tarball});
    ASSERT_EQ(created.exit_code, 0) << describe(created);
  }

  ProcessResult klee(std::vector<std::string> args) {
    args.insert(args.begin(), {"--host", unix_host(), "--theme", "simple"});
    return run_klee(args);
  }

  // `klee run [options] kl-escape CMD...`: the container runs attached and ends with CMD.
  ProcessResult run(std::vector<std::string> options, std::vector<std::string> command) {
    std::vector<std::string> args{"run"};
    args.insert(args.end(), options.begin(), options.end());
    args.push_back(kImage);
    args.insert(args.end(), command.begin(), command.end());
    return klee(args);
  }
};

TEST_F(ContainerEscapeTest, SymlinkedMountTargetsLandInsideTheContainer) {
  const std::string src = dir.file("hostsrc");
  // /data -> /etc: the bind lands on the image's /etc, not the host's.
  auto r = run({"-m", src + ":/data"}, {"cat", "/data/marker", "/etc/marker"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "kl-marker\nkl-marker\n")) << describe(r);
  // ../../../../../etc and a missing directory below it: created inside the image.
  r = run({"-m", src + ":/escape/kl-sub:ro"}, {"cat", "/etc/kl-sub/marker"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "kl-marker\n")) << describe(r);
  EXPECT_FALSE(fs::exists("/etc/kl-sub"));
  EXPECT_FALSE(fs::exists("/etc/marker"));
  // /hostshm -> /dev/shm exists on the host but not in the image: refused, never the host's.
  r = run({"-m", src + ":/hostshm/kl-sub"}, {"true"});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_FALSE(fs::exists("/dev/shm/kl-sub"));
}

TEST_F(ContainerEscapeTest, VolumeOnASymlinkedTargetIsNotFilledFromTheHost) {
  // An empty volume is populated from the image's directory: with /data -> /etc that may be
  // the image's /etc (passwd, group, hosts, ...) or nothing, never the host's /etc.
  auto r = run({"-m", "kl-escape-vol:/data"}, {"ls", "/data", "/etc"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  for (const char* host_only : {"shadow", "os-release", "fstab", "ld.so.cache", "apt"})
    EXPECT_FALSE(contains(r.out, host_only)) << host_only << "\n" << describe(r);
}

TEST_F(ContainerEscapeTest, ReadOnlyMountsAreReadOnly) {
  auto r = run({"-m", dir.file("hostsrc") + ":/ro:ro"}, {"touch", "/ro/kl-x"});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out + r.err, "Read-only file system")) << describe(r);
  EXPECT_FALSE(fs::exists(dir.file("hostsrc/kl-x")));
}

TEST_F(ContainerEscapeTest, NoFdLeaksIntoTheContainer) {
  // 0 1 2, and 3: ls's own directory. Nothing of kleened's or the keeper's.
  auto r = run({}, {"ls", "/proc/self/fd"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "0\n1\n2\n3\n")) << describe(r);
  EXPECT_FALSE(contains(r.out, "\n4\n")) << describe(r);
}

TEST_F(ContainerEscapeTest, CapabilitiesNoNewPrivsSeccomp) {
  auto r =
      run({}, {"grep", "-E", "^(CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):", "/proc/self/status"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, std::string("CapEff:\t") + kDefaultCaps)) << describe(r);
  EXPECT_TRUE(contains(r.out, std::string("CapBnd:\t") + kDefaultCaps)) << describe(r);
  EXPECT_TRUE(contains(r.out, "CapAmb:\t0000000000000000")) << describe(r);
  EXPECT_TRUE(contains(r.out, "NoNewPrivs:\t1")) << describe(r);
  EXPECT_TRUE(contains(r.out, "Seccomp:\t2")) << describe(r);

  r = run({"-u", "nobody"}, {"grep", "CapEff", "/proc/self/status"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "CapEff:\t0000000000000000")) << describe(r);

  r = run({"-J", "allow.raw_sockets"}, {"grep", "CapEff", "/proc/self/status"});
  EXPECT_TRUE(contains(r.out, "CapEff:\t00000000800425fb")) << describe(r);  // + NET_RAW
}

TEST_F(ContainerEscapeTest, NoWayToTheHostsMountsOrKernel) {
  auto r = run({}, {"mount", "-t", "tmpfs", "kl", "/mnt"});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  r = run({}, {"sh", "-c", "echo kl > /proc/sys/kernel/domainname"});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out + r.err, "Read-only file system")) << describe(r);
  r = run({}, {"sh", "-c", "wc -c < /proc/keys; ls -A /sys/firmware | wc -l"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "0\n0\n")) << describe(r);
  r = run({}, {"unshare", "-m", "true"});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  // Its own pid namespace: kleened (and every other host process) is not there.
  r = run({}, {"pidof", "kleened"});
  EXPECT_NE(r.exit_code, 0) << describe(r);
}

TEST_F(ContainerEscapeTest, PingNeedsAllowRawSockets) {
  auto r = run({"--network", "host"}, {"ping", "-c1", "-W2", "127.0.0.1"});
  EXPECT_NE(r.exit_code, 0) << describe(r);
  r = run({"--network", "host", "-J", "allow.raw_sockets"}, {"ping", "-c1", "-W2", "127.0.0.1"});
  EXPECT_EQ(r.exit_code, 0) << describe(r);
  EXPECT_TRUE(contains(r.out, "1 packets received")) << describe(r);
}

}  // namespace
}  // namespace kleene::it
