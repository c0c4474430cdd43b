// warm_start_files: reading ahead what a container's first start reads (warm.hpp).
#include "container/warm.hpp"

#include <elf.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>

#include "runtime/sandbox.hpp"
#include "util/openat2.hpp"
#include "util/unique_fd.hpp"

namespace kleene::container {
namespace {

constexpr std::size_t kMaxInterpreter = 4096;

// `path` inside the root as a regular file open for reading, or an empty fd. O_PATH first, so
// that nothing but a regular file (no FIFO, no device) is ever opened for reading.
UniqueFd open_regular(int root, const std::string& path) {
  UniqueFd where(
      util::openat2_retrying(root, path.c_str(), O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS));
  struct stat st {};
  if (!where || ::fstat(where.get(), &st) != 0 || !S_ISREG(st.st_mode)) return UniqueFd();
  const std::string self = "/proc/self/fd/" + std::to_string(where.get());
  return UniqueFd(::open(self.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
}

bool read_at(int fd, void* buffer, std::size_t size, off_t offset) {
  return ::pread(fd, buffer, size, offset) == static_cast<ssize_t>(size);
}

// The interpreter a file names: an ELF's PT_INTERP, a script's "#!" program; "" for none.
std::string interpreter_of(int fd) {
  char head[256] = {};
  const ssize_t n = ::pread(fd, head, sizeof head - 1, 0);
  if (n < 4) return {};
  if (head[0] == '#' && head[1] == '!') {
    std::string_view line(head + 2, static_cast<std::size_t>(n) - 2);
    line = line.substr(0, line.find('\n'));
    const auto start = line.find_first_not_of(" \t");
    if (start == std::string_view::npos) return {};
    line = line.substr(start);
    return std::string(line.substr(0, line.find_first_of(" \t")));
  }
  if (std::memcmp(head, ELFMAG, SELFMAG) != 0 || head[EI_CLASS] != ELFCLASS64) return {};
  Elf64_Ehdr header{};
  if (!read_at(fd, &header, sizeof header, 0) || header.e_phentsize != sizeof(Elf64_Phdr) ||
      header.e_phnum > 64)
    return {};
  for (unsigned i = 0; i < header.e_phnum; ++i) {
    Elf64_Phdr program{};
    if (!read_at(fd, &program, sizeof program,
                 static_cast<off_t>(header.e_phoff + i * sizeof(Elf64_Phdr))))
      return {};
    if (program.p_type != PT_INTERP) continue;
    if (program.p_filesz < 2 || program.p_filesz > kMaxInterpreter) return {};
    std::string path(program.p_filesz, '\0');
    if (!read_at(fd, path.data(), path.size(), static_cast<off_t>(program.p_offset))) return {};
    path.resize(std::strlen(path.c_str()));
    return path;
  }
  return {};
}

// Read, not posix_fadvise: the reads are done when this returns, so nothing of the file is
// still in flight once the warm-up ends (an unmount waits for that: wait_for_warm_up). The
// mount's readahead (fuse_read_ahead_kb) makes the kernel ask for large parts at once anyway.
void read_through(int fd, std::vector<char>& buffer) {
  std::size_t total = 0;
  while (total < kWarmMaxBytes) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    total += static_cast<std::size_t>(n);
  }
}

// The datasets whose files are read ahead now, one entry per warm-up.
struct Running {
  std::mutex mutex;
  std::condition_variable done;
  std::multiset<std::string> datasets;
};

Running& running() {
  static Running instance;
  return instance;
}

}  // namespace

std::vector<std::string> warm_start_files(const std::filesystem::path& rootfs,
                                          const std::vector<std::string>& argv,
                                          const std::vector<std::string>& env) {
  std::vector<std::string> warmed;
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return warmed;
  std::vector<char> buffer(std::size_t{128} << 10);
  auto warm = [&](const std::string& path) -> UniqueFd {
    UniqueFd fd = open_regular(root.get(), path);
    if (fd) {
      read_through(fd.get(), buffer);
      warmed.push_back(path);
    }
    return fd;
  };
  if (!argv.empty() && !argv.front().empty()) {
    for (const auto& candidate : runtime::sandbox::program_candidates(argv.front(), env)) {
      if (candidate.front() != '/') continue;  // relative to the workdir: not looked up here
      UniqueFd program = warm(candidate);
      if (!program) continue;
      if (const auto interpreter = interpreter_of(program.get());
          !interpreter.empty() && interpreter.front() == '/')
        (void)warm(interpreter);
      break;
    }
  }
  (void)warm("/etc/passwd");
  (void)warm("/etc/group");
  return warmed;
}

void warm_start_files_in_background(std::string dataset, std::filesystem::path rootfs,
                                    std::vector<std::string> argv, std::vector<std::string> env) {
  Running& all = running();
  {
    std::lock_guard lock(all.mutex);
    if (all.datasets.size() >= kWarmAtOnce) return;
    all.datasets.insert(dataset);
  }
  auto finish = [&all](const std::string& name) {
    {
      std::lock_guard lock(all.mutex);
      all.datasets.erase(all.datasets.find(name));
    }
    all.done.notify_all();
  };
  try {
    std::thread([dataset, rootfs = std::move(rootfs), argv = std::move(argv), env = std::move(env),
                 finish] {
      (void)warm_start_files(rootfs, argv, env);
      finish(dataset);
    }).detach();
  } catch (const std::system_error&) {
    finish(dataset);
  }
}

void wait_for_warm_up(const std::string& dataset) {
  Running& all = running();
  std::unique_lock lock(all.mutex);
  (void)all.done.wait_for(lock, kWarmUpWaitBound, [&] { return !all.datasets.contains(dataset); });
}

}  // namespace kleene::container
