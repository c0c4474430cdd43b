// openat2(2) with the retries the kernel asks for. With RESOLVE_IN_ROOT or RESOLVE_BENEATH a
// lookup that crosses ".." fails with EAGAIN when a rename or mount anywhere raced it; a
// container renaming in a loop in a shared volume could otherwise make another container's start
// (or an image extraction) fail. The retries are bounded, so such a loop cannot spin a thread
// forever: after kOpenat2Attempts the EAGAIN is returned. Header-only and allocation-free: it also
// runs in forked children before exec.
#pragma once

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace kleene::util {

inline constexpr int kOpenat2Attempts = 256;

// The new fd, or -1 with errno set. O_CLOEXEC is always added.
inline int openat2_retrying(int dir, const char* path, std::uint64_t flags, std::uint64_t resolve,
                            mode_t mode = 0) noexcept {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE ? mode : 0;
  how.resolve = resolve;
  for (int attempt = 0; attempt < kOpenat2Attempts; ++attempt) {
    const long fd = ::syscall(SYS_openat2, dir, path, &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != EAGAIN && errno != EINTR) return -1;
  }
  errno = EAGAIN;
  return -1;
}

}  // namespace kleene::util
