#include <fcntl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdarg>
#include <cstdint>
#include <cstdio>

#include "keeper.hpp"

extern "C" char __executable_start;  // the linker's bounds of our text
extern "C" char etext;

namespace kleene::keeper {

namespace {
int log_fd = -1;
}

void open_log(int dir_fd) {
  log_fd =
      ::openat(dir_fd, "keeper.log", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
}

void log(const char* format, ...) {
  if (log_fd < 0) return;
  char line[1024];
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  tm utc{};
  ::gmtime_r(&now.tv_sec, &utc);
  int n = static_cast<int>(::strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%SZ ", &utc));
  va_list args;
  va_start(args, format);
  const int m = std::vsnprintf(line + n, sizeof line - static_cast<size_t>(n) - 1, format, args);
  va_end(args);
  if (m > 0) n += std::min(m, static_cast<int>(sizeof line) - n - 2);
  line[n++] = '\n';
  (void)!::write(log_fd, line, static_cast<size_t>(n));
}

// Set-up code (glibc's start-up, the clone of the init, rootfs work) is not needed again; its
// text pages were mapped in with the kernel's 64 KiB fault-around. Unmap the whole text once:
// the loop faults back in only what it uses. (Text is a read-only private file mapping, so
// this only drops page-table entries, never data.)
void drop_startup_text() {
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(&__executable_start) & ~(page - 1);
  const auto end = reinterpret_cast<std::uintptr_t>(&etext);
  ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

}  // namespace kleene::keeper
