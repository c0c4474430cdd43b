// Unpacking a tarball (plain, gzip, xz, zstd, bzip2, lzma) into a directory, treating the
// archive as hostile: members stay below the directory (no absolute paths, no `..`, no
// writes through symlinks, hardlinks only to members already inside), device nodes only of
// the harmless kinds, and caps on size, compression ratio and entry count. Extraction stops
// at the first violation; the caller discards the partly written tree.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "image/create/limits.hpp"
#include "image/create/progress.hpp"
#include "image/create/source.hpp"
#include "util/error.hpp"

namespace kleene::image {

struct ExtractStats {
  uint64_t entries = 0;  // members written
  uint64_t bytes = 0;    // regular file data written
  uint64_t skipped = 0;  // members skipped with a warning
};

struct ExtractCallbacks {
  // Rate-limited (ExtractLimits::progress_interval) and once at the end. Returning false
  // aborts with ECANCELED (the client went away).
  std::function<bool(const Progress&)> progress;
  // A member that was skipped, e.g. "skipping block device 'dev/sda'".
  std::function<void(const std::string&)> warning;
};

// `root` is an open directory fd (O_PATH is enough). Errors: EPERM/ELOOP/EXDEV for an
// escaping member, EFBIG for a cap, EILSEQ for a corrupt or unsupported archive, ECANCELED.
Result<ExtractStats> extract_archive(ByteSource& source, int root, const ExtractLimits& limits,
                                     const ExtractCallbacks& callbacks = {});

}  // namespace kleene::image
