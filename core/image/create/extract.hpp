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
// In a process that named an extract helper (set_extract_helper: kleened), the archive is
// unpacked by that helper in a child process (extract_in_child); otherwise here
// (extract_here).
Result<ExtractStats> extract_archive(ByteSource& source, int root, const ExtractLimits& limits,
                                     const ExtractCallbacks& callbacks = {});

// An ADD's archive (an open regular file) into `root` (extract_archive), with the image rules
// and no device nodes: kleened's engine operation `unpack` and a builder on an engine without
// it do the same thing.
Result<ExtractStats> unpack_added_archive(int archive_fd, int root);

// The unpacking itself, in this process (libarchive loaded on first use).
Result<ExtractStats> extract_here(ByteSource& source, int root, const ExtractLimits& limits,
                                  const ExtractCallbacks& callbacks = {});

// kleened's archives are hostile input for a large C parser (libarchive and its five
// decompressors): they are unpacked in a child, `<program> extract-archive <limits> <pid>`, so that
// neither a parser bug nor libarchive's memory stays in the daemon. The child gets the stream
// on fd 0, `root` as fd 3 and writes JSON lines to fd 1 (progress, warnings, the result); it
// chroots into `root` and keeps only the capabilities extraction needs (run_extract_helper).
// The parent feeds it from `source`, forwards progress (its own byte counts) and warnings, and
// kills it when the progress callback says stop (ECANCELED) or the source fails. A child that
// dies without a result is EIO. Set once, before threads start; "" (the default) unpacks here.
void set_extract_helper(std::string program);
Result<ExtractStats> extract_in_child(ByteSource& source, int root, const ExtractLimits& limits,
                                      const ExtractCallbacks& callbacks,
                                      const std::string& program);

// Whether the helper chroots into the extraction root: not in sanitized builds, whose runtime
// needs /proc and its log paths until the process ends.
bool extract_helper_chroots();

// The child's side: main() of `<program> extract-archive <limits> <parent pid>` (argv[0] the
// program, argv[1] "extract-archive", argv[2] the limits as JSON, argv[3] the spawning
// process's PID: the child dies with it, PR_SET_PDEATHSIG). Returns the exit status.
int run_extract_helper(int argc, char** argv);

}  // namespace kleene::image
