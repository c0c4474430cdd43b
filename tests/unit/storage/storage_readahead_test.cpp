// The readahead the storage-zfs plugin sets on a zfs-fuse mount survives the file system's answer
// to FUSE_INIT, however late it comes. The "zfs-fuse" here is this test: it mounts a FUSE file
// system of type fuse.zfs named like a dataset (in a mount namespace of the test's own, so the
// host sees nothing) and answers the kernel's requests itself, INIT only once the plugin is
// waiting or done. Once set, the next ask for the root sends the file system nothing. No ZFS
// needed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/fuse.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "plugin/registry.hpp"
#include "storage/storage.hpp"

namespace kleene::storage::testing {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDataset = "klra/kleene/container/ra";

// The device ("major:minor") of the mount at `target` in this process's mount table.
std::string device_of(const fs::path& target) {
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, device, root, where;
    if (fields >> id >> parent >> device >> root >> where && where == target.string())
      return device;
  }
  return {};
}

int read_ahead_kb(const std::string& device) {
  std::ifstream in("/sys/class/bdi/" + device + "/read_ahead_kb");
  int kib = -1;
  in >> kib;
  return kib;
}

// Whether thread `tid` of this process is blocked in system call `number`.
bool blocked_in(pid_t tid, long number) {
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/syscall");
  long current = -1;
  return in >> current && current == number;
}

// The FUSE server end: the /dev/fuse descriptor of one mount.
class FuseServer {
 public:
  explicit FuseServer(int fd) : fd_(fd) {}
  ~FuseServer() { ::close(fd_); }

  // The next request, waiting for it; its header is at the start of buffer().
  bool next() {
    return ::read(fd_, buffer_.get(), kBufferSize) >= static_cast<ssize_t>(sizeof(fuse_in_header));
  }
  // Whether a request is waiting.
  bool ready() {
    pollfd p{.fd = fd_, .events = POLLIN, .revents = 0};
    return ::poll(&p, 1, 0) == 1;
  }
  const fuse_in_header& request() const {
    return *reinterpret_cast<const fuse_in_header*>(buffer_.get());
  }

  template <typename Body>
  bool answer(const Body& body) {
    struct {
      fuse_out_header header;
      Body body;
    } out{};
    out.header.len = sizeof(out);
    out.header.unique = request().unique;
    out.body = body;
    return ::write(fd_, &out, sizeof(out)) == static_cast<ssize_t>(sizeof(out));
  }
  bool answer_error(int error) {
    fuse_out_header out{
        .len = sizeof(fuse_out_header), .error = -error, .unique = request().unique};
    return ::write(fd_, &out, sizeof(out)) == static_cast<ssize_t>(sizeof(out));
  }

 private:
  // Reads need room for the largest write the kernel may send: max_write (below) and a page.
  static constexpr std::size_t kBufferSize = 64 * 1024;
  int fd_;
  std::unique_ptr<char[]> buffer_ = std::make_unique<char[]>(kBufferSize);
};

TEST(FuseReadahead, ItSurvivesAnInitAnsweredAfterTheStartAskedForTheRootAndIsSetOnce) {
  if (!fs::exists("/dev/fuse")) GTEST_SKIP() << "no /dev/fuse";
  // A mount namespace of this process's own, whose mounts do not reach the host's.
  ASSERT_EQ(::unshare(CLONE_NEWNS), 0) << std::strerror(errno);
  ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0)
      << std::strerror(errno);
  std::string scratch = (fs::temp_directory_path() / "klra.XXXXXX").string();
  ASSERT_NE(::mkdtemp(scratch.data()), nullptr);
  const fs::path root = fs::path(scratch) / "root";
  fs::create_directory(root);

  const int fd = ::open("/dev/fuse", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << std::strerror(errno);
  FuseServer server(fd);
  const std::string options =
      "fd=" + std::to_string(fd) + ",rootmode=40000,user_id=0,group_id=0,allow_other";
  ASSERT_EQ(::mount(kDataset, root.c_str(), "fuse.zfs", MS_NOSUID | MS_NODEV, options.c_str()), 0)
      << std::strerror(errno);
  ASSERT_TRUE(server.next());
  ASSERT_EQ(server.request().opcode, FUSE_INIT);
  const std::string device = device_of(root);
  ASSERT_FALSE(device.empty());

  // The plugin, with a zfs that must not be needed: the mount table names the dataset's root.
  const fs::path zfs = fs::path(scratch) / "zfs";
  std::ofstream(zfs) << "#!/bin/sh\necho \"zfs $*: not expected\" >&2\nexit 1\n";
  fs::permissions(zfs, fs::perms::owner_all);
  plugin::HostOptions host;
  host.plugin_config = {{"zfs",
                         {{"zfs", zfs.string()},
                          {"zpool", zfs.string()},
                          {"zfs_fuse", ""},
                          {"command_lock", ""},
                          {"fuse_read_ahead_kb", 2048}}}};
  plugin::Registry registry(host);
  auto loaded = registry.load_file(KLEENE_BUILT_PLUGIN_DIR "/storage-zfs.so");
  ASSERT_TRUE(loaded) << loaded.error().message;
  Storage storage(*registry.find("zfs", plugin::Kind::storage), "klra/kleene");

  // A start asking for the container's root, on a thread of its own: returned once the start is
  // done or blocked in statfs (a request only this test answers).
  std::atomic<pid_t> tid{0};
  std::atomic<bool> done{false};
  Result<fs::path> path = fs::path();
  auto ask_for_root = [&] {
    tid = 0;
    done = false;
    std::thread start([&] {
      tid = static_cast<pid_t>(::syscall(SYS_gettid));
      path = storage.mountpoint(kDataset);
      done = true;
    });
    while (tid == 0 || (!done && !blocked_in(tid, SYS_statfs)))
      std::this_thread::yield();
    return start;
  };
  // Answers what the start asks until it is done: statfs; anything else is not implemented.
  // False when an answer could not be given.
  auto serve_until_done = [&] {
    while (!done) {
      if (!server.ready()) {
        std::this_thread::yield();
        continue;
      }
      const bool served = server.next() &&
                          (server.request().opcode == FUSE_STATFS ? server.answer(fuse_statfs_out{})
                                                                  : server.answer_error(ENOSYS));
      if (!served) return false;
    }
    return true;
  };

  // A start asks for the container's root while the file system has not answered INIT yet.
  std::thread start = ask_for_root();

  // Now INIT's answer: the 128 KiB readahead libfuse 2 answers (the kernel's own), then the
  // start's requests. (No ASSERT until the join.)
  fuse_init_out init{};
  init.major = FUSE_KERNEL_VERSION;
  init.minor = 31;
  init.max_readahead = 128 * 1024;
  init.max_write = 32 * 1024;
  const bool served = server.answer(init);
  EXPECT_TRUE(served) << std::strerror(errno);
  if (served) {
    EXPECT_TRUE(serve_until_done()) << std::strerror(errno);
  }
  start.join();

  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(*path, root);
  EXPECT_EQ(read_ahead_kb(device), 2048);

  // The next start (the create set it) asks the file system nothing: a statfs can wait for
  // milliseconds behind zfs-fuse's other work. It either returns or blocks in statfs, which is
  // then answered so that it ends.
  std::thread again = ask_for_root();
  const bool asked = !done;
  EXPECT_TRUE(serve_until_done()) << std::strerror(errno);
  again.join();
  EXPECT_FALSE(asked) << "the second start waited for a statfs";
  ASSERT_TRUE(path) << path.error().message;
  EXPECT_EQ(read_ahead_kb(device), 2048);
  EXPECT_EQ(::umount2(root.c_str(), MNT_DETACH), 0) << std::strerror(errno);
  fs::remove_all(scratch);
}

}  // namespace
}  // namespace kleene::storage::testing
