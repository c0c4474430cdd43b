#include "util/random.hpp"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace kleene {

void random_bytes(std::span<std::byte> out) {
  std::size_t filled = 0;
  while (filled < out.size()) {
    const ssize_t n = ::getrandom(out.data() + filled, out.size() - filled, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("kleene: getrandom");
      std::abort();
    }
    filled += static_cast<std::size_t>(n);
  }
}

std::uint32_t random_below(std::uint32_t bound) {
  // Rejection sampling: drop the top partial range so every value is equally likely.
  const std::uint32_t limit =
      std::numeric_limits<std::uint32_t>::max() - std::numeric_limits<std::uint32_t>::max() % bound;
  for (;;) {
    std::uint32_t value = 0;
    random_bytes(std::as_writable_bytes(std::span(&value, 1)));
    if (value < limit) return value % bound;
  }
}

}  // namespace kleene
