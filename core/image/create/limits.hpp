// Caps that keep a hostile or broken archive from filling the pool.
#pragma once

#include <chrono>
#include <cstdint>

namespace kleene::image {

struct ExtractLimits {
  // Sum of the sizes of the regular files (declared, so a sparse file counts in full).
  uint64_t max_total_size = 16ull << 30;
  // Uncompressed stream bytes per source byte, checked once past `ratio_grace` bytes.
  uint64_t max_ratio = 100;
  uint64_t ratio_grace = 64ull << 20;
  uint64_t max_entries = 4'000'000;
  // Device nodes: only the harmless character devices (null, zero, full, random, urandom,
  // tty), owned by root; everything else is skipped with a warning. false: no devices at all.
  bool allow_safe_devices = true;
  // How often progress is reported while extracting.
  std::chrono::milliseconds progress_interval{250};
};

}  // namespace kleene::image
