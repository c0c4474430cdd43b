// Fuzzes hostile-archive extraction (core/image/create/extract.hpp, beneath.hpp): image tarballs
// through extract_archive, and build contexts uploaded over the /images/build WebSocket through
// api::receive_context (core/api/build_context.hpp) with an in-memory transport (fake_ws.hpp),
// into a scratch directory on tmpfs, /dev/shm/kleene-fuzz-tar-<pid>/, for real.
//
// Input: byte 0 picks the path (bit 0: image extraction or context upload; bit 1: safe device
// nodes allowed; bits 2-7: the size of the chunks the source hands out, or of the frames), the
// rest is the archive (any of tar, gzip, bzip2, xz, lzma, zstd; the context upload takes tar).
// Limits are the extractor's own, smaller: 1 MiB of files, 512 members, a ratio check after
// 1 MiB, so that a run stays fast.
//
// Invariants, on top of ASan/UBSan:
//   - nothing is created outside the directory it extracts to: beside it, a sentinel directory
//     stays empty and a canary file keeps its contents and its single link; in the tree, every
//     regular file's links are all inside the tree (no hardlink to anything outside), and
//     nothing is on another file system;
//   - a failure is one of the documented errors (EPERM/ELOOP/EXDEV escaping, EFBIG, EILSEQ,
//     EINVAL/ECONNRESET/ETIMEDOUT for an upload, or what a syscall said for a member);
//   - an uploaded context is removed by its owner (fd-relative), leaving its parent empty; the
//     harness removes an image tree fd-relative and the scratch directory is as it was;
//   - no file descriptor leaks (/proc/self/fd counted before and after).
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/build_context.hpp"
#include "fake_ws.hpp"
#include "fuzz_check.hpp"
#include "image/create/beneath.hpp"
#include "image/create/extract.hpp"

namespace img = kleene::image;
using kleene::fuzz::FakeWs;

namespace {

constexpr std::string_view kCanaryText = "canary: an archive must never reach this file\n";

struct Scratch {
  std::string path;
  int fd = -1;
  dev_t dev = 0;
};

const Scratch& scratch() {
  static const Scratch s = [] {
    Scratch out;
    out.path = "/dev/shm/kleene-fuzz-tar-" + std::to_string(::getpid());
    KLEENE_FUZZ_CHECK(::mkdir(out.path.c_str(), 0700) == 0 || errno == EEXIST, out.path);
    out.fd = ::open(out.path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    KLEENE_FUZZ_CHECK(out.fd >= 0, out.path);
    ::mkdirat(out.fd, "sentinel", 0755);
    ::mkdirat(out.fd, "contexts", 0700);
    const int canary = ::openat(out.fd, "canary", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    KLEENE_FUZZ_CHECK(canary >= 0 && ::write(canary, kCanaryText.data(), kCanaryText.size()) ==
                                         static_cast<ssize_t>(kCanaryText.size()),
                      "canary");
    ::close(canary);
    struct stat st {};
    ::fstat(out.fd, &st);
    out.dev = st.st_dev;
    return out;
  }();
  return s;
}

int count_fds() {
  int count = 0;
  DIR* dir = ::opendir("/proc/self/fd");
  KLEENE_FUZZ_CHECK(dir != nullptr, "/proc/self/fd");
  while (::readdir(dir) != nullptr)
    ++count;
  ::closedir(dir);
  return count;
}

// The names in directory fd `dir` (without . and ..), never following anything.
std::vector<std::string> names_in(int dir) {
  std::vector<std::string> names;
  const int copy = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  KLEENE_FUZZ_CHECK(copy >= 0, "reopen a directory");
  DIR* stream = ::fdopendir(copy);
  KLEENE_FUZZ_CHECK(stream != nullptr, "fdopendir");
  while (const dirent* entry = ::readdir(stream)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  ::closedir(stream);
  return names;
}

// Every entry below `dir`: on the scratch file system; regular files' inodes counted.
void walk(int dir, std::map<ino_t, std::pair<nlink_t, int>>& files, int depth) {
  KLEENE_FUZZ_CHECK(depth < 4096, "deeper than a path can be");
  for (const auto& name : names_in(dir)) {
    struct stat st {};
    KLEENE_FUZZ_CHECK(::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0, name);
    KLEENE_FUZZ_CHECK(st.st_dev == scratch().dev, "another file system at " + name);
    if (S_ISREG(st.st_mode)) {
      auto& [links, seen] = files[st.st_ino];
      links = st.st_nlink;
      ++seen;
    } else if (S_ISDIR(st.st_mode)) {
      const int sub = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      KLEENE_FUZZ_CHECK(sub >= 0, "open directory " + name);
      walk(sub, files, depth + 1);
      ::close(sub);
    } else {
      KLEENE_FUZZ_CHECK(S_ISLNK(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode),
                        "unexpected file type at " + name);
    }
  }
}

void check_tree(int root) {
  std::map<ino_t, std::pair<nlink_t, int>> files;
  walk(root, files, 0);
  for (const auto& [ino, counts] : files)
    KLEENE_FUZZ_CHECK(counts.first == static_cast<nlink_t>(counts.second),
                      "a file with links outside the tree: inode " + std::to_string(ino));
}

// rm -rf below `dir`, fd-relative, never following a symlink.
void remove_below(int dir) {
  for (const auto& name : names_in(dir)) {
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      const int sub = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      KLEENE_FUZZ_CHECK(sub >= 0, "open directory " + name);
      remove_below(sub);
      ::close(sub);
      KLEENE_FUZZ_CHECK(::unlinkat(dir, name.c_str(), AT_REMOVEDIR) == 0, "rmdir " + name);
    } else {
      KLEENE_FUZZ_CHECK(::unlinkat(dir, name.c_str(), 0) == 0, "unlink " + name);
    }
  }
}

// The scratch directory holds the sentinel (empty), the canary (intact), the parent of uploaded
// contexts and `expected`.
void check_scratch(const std::set<std::string>& expected) {
  const int base = scratch().fd;
  std::set<std::string> names;
  for (const auto& name : names_in(base))
    names.insert(name);
  std::set<std::string> want = {"sentinel", "canary", "contexts"};
  want.insert(expected.begin(), expected.end());
  KLEENE_FUZZ_CHECK(names == want, "something was created beside the extraction directory");
  const int sentinel = ::openat(base, "sentinel", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  KLEENE_FUZZ_CHECK(sentinel >= 0 && names_in(sentinel).empty(), "the sentinel is not empty");
  ::close(sentinel);
  const int canary = ::openat(base, "canary", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  KLEENE_FUZZ_CHECK(canary >= 0, "the canary is gone");
  struct stat st {};
  char text[128] = {};
  const ssize_t n = ::read(canary, text, sizeof text);
  KLEENE_FUZZ_CHECK(
      ::fstat(canary, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 1 &&
          std::string_view(text, n > 0 ? static_cast<std::size_t>(n) : 0) == kCanaryText,
      "the canary changed");
  ::close(canary);
}

bool documented(int code, bool upload) {
  switch (code) {
    case EPERM:
    case ELOOP:
    case EXDEV:
    case EFBIG:
    case EILSEQ:
    case EEXIST:   // a member where a directory must be, e.g. "a" then "a/b" as a file
    case ENOTDIR:  // a file where a directory must be
    case ENOTEMPTY:
    case EINVAL:
    case ENAMETOOLONG:
    case ENOENT:  // a hardlink to a member that is not there
      return true;
    case ECONNRESET:
    case ETIMEDOUT:
      return upload;
    default:
      return false;
  }
}

class MemorySource final : public img::ByteSource {
 public:
  MemorySource(std::string_view data, std::size_t chunk) : data_(data), chunk_(chunk) {}
  kleene::Result<std::string_view> read() override {
    const auto piece = data_.substr(consumed_, chunk_);
    consumed_ += piece.size();
    return piece;
  }
  std::uint64_t consumed() const override { return consumed_; }
  std::optional<std::uint64_t> size() const override { return data_.size(); }

 private:
  std::string_view data_;
  std::size_t chunk_;
  std::size_t consumed_ = 0;
};

img::ExtractLimits small_limits(bool devices) {
  img::ExtractLimits limits;
  limits.max_total_size = 1 << 20;
  limits.ratio_grace = 1 << 20;
  limits.max_entries = 512;
  limits.allow_safe_devices = devices;
  return limits;
}

void extract_image(std::string_view archive, std::size_t chunk, bool devices) {
  const int base = scratch().fd;
  KLEENE_FUZZ_CHECK(::mkdirat(base, "root", 0755) == 0, "mkdir root");
  const int root = ::openat(base, "root", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  KLEENE_FUZZ_CHECK(root >= 0, "open root");
  MemorySource source(archive, chunk);
  std::vector<std::string> warnings;
  img::ExtractCallbacks callbacks;
  callbacks.warning = [&warnings](const std::string& w) { warnings.push_back(w); };
  auto stats = img::extract_archive(source, root, small_limits(devices), callbacks);
  if (stats) {
    KLEENE_FUZZ_CHECK(stats->bytes <= (1u << 20) && stats->entries <= 512, "past the limits");
    KLEENE_FUZZ_CHECK(stats->skipped == warnings.size(), "a skip without its warning");
  } else {
    KLEENE_FUZZ_CHECK(documented(stats.error().code, false),
                      std::to_string(stats.error().code) + " " + stats.error().message);
  }
  check_scratch({"root"});
  const int tree = ::openat(base, "root", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  KLEENE_FUZZ_CHECK(tree >= 0, "reopen root");
  check_tree(tree);
  remove_below(tree);
  ::close(tree);
  ::close(root);
  KLEENE_FUZZ_CHECK(::unlinkat(base, "root", AT_REMOVEDIR) == 0, "rmdir root");
}

void upload_context(std::string_view archive, std::size_t chunk, bool text_frame) {
  FakeWs ws;
  for (std::size_t at = 0; at < archive.size(); at += chunk)
    ws.push_frame(std::string(archive.substr(at, chunk)), true);
  if (text_frame) ws.push_frame("{}", false);
  ws.push_frame("", true);  // the end frame
  const std::string parent = scratch().path + "/contexts";
  {
    auto limits = kleene::api::default_context_limits();
    KLEENE_FUZZ_CHECK(!limits.allow_safe_devices, "device nodes in a build context");
    limits.max_total_size = 1 << 20;
    limits.ratio_grace = 1 << 20;
    limits.max_entries = 512;
    auto context = kleene::api::receive_context(ws, parent, limits);
    if (context) {
      KLEENE_FUZZ_CHECK(ws.pending() == 0, "frames left after the end frame");
      KLEENE_FUZZ_CHECK(context->path().starts_with(parent + "/context-"), context->path());
      const int tree =
          ::open(context->path().c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      KLEENE_FUZZ_CHECK(tree >= 0, context->path());
      check_tree(tree);
      ::close(tree);
    } else {
      KLEENE_FUZZ_CHECK(documented(context.error().code, true),
                        std::to_string(context.error().code) + " " + context.error().message);
    }
    check_scratch({});
  }  // the context removes itself
  const int contexts = ::openat(scratch().fd, "contexts", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  KLEENE_FUZZ_CHECK(contexts >= 0, "contexts");
  KLEENE_FUZZ_CHECK(names_in(contexts).empty(), "the uploaded context was not removed");
  ::close(contexts);
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)scratch();
  std::atexit([] {
    const Scratch& s = scratch();
    remove_below(s.fd);
    ::close(s.fd);
    ::rmdir(s.path.c_str());
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view archive(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t chunk = (static_cast<std::size_t>(selector >> 2) + 1) * 97;
  const int fds = count_fds();
  if ((selector & 1) == 0)
    extract_image(archive, chunk, (selector & 2) != 0);
  else
    upload_context(archive, chunk, (selector & 2) != 0);
  KLEENE_FUZZ_CHECK(count_fds() == fds, "a file descriptor leaked");
  return 0;
}
