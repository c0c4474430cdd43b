// libarchive loaded on first use (dlopen) instead of linked: with libxml2, ICU, nettle and its
// compressors it is ~1.7 MB of kleened's idle RSS and ~0.7 ms of the dynamic loader's work in
// every klee command, and only image creation, build contexts and ADD need it. The prototypes
// come from libarchive's own headers (util/shared_library.hpp), so only the headers are needed
// at build time and libarchive.so.13 at run time. Header-only; users link ${CMAKE_DL_LIBS}.
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include "util/shared_library.hpp"

namespace kleene::util {

// Every function kleene calls, by its name less `archive_`.
#define KLEENE_LIBARCHIVE_FUNCTIONS(X) \
  X(entry_filetype)                    \
  X(entry_free)                        \
  X(entry_gid)                         \
  X(entry_hardlink)                    \
  X(entry_mtime)                       \
  X(entry_mtime_nsec)                  \
  X(entry_new)                         \
  X(entry_pathname)                    \
  X(entry_perm)                        \
  X(entry_rdev)                        \
  X(entry_set_filetype)                \
  X(entry_set_gid)                     \
  X(entry_set_mtime)                   \
  X(entry_set_pathname)                \
  X(entry_set_perm)                    \
  X(entry_set_size)                    \
  X(entry_set_symlink)                 \
  X(entry_set_uid)                     \
  X(entry_size)                        \
  X(entry_symlink)                     \
  X(entry_uid)                         \
  X(error_string)                      \
  X(filter_bytes)                      \
  X(read_data_block)                   \
  X(read_free)                         \
  X(read_new)                          \
  X(read_next_header)                  \
  X(read_open)                         \
  X(read_support_filter_bzip2)         \
  X(read_support_filter_gzip)          \
  X(read_support_filter_lzma)          \
  X(read_support_filter_none)          \
  X(read_support_filter_xz)            \
  X(read_support_filter_zstd)          \
  X(read_support_format_tar)           \
  X(set_error)                         \
  X(write_close)                       \
  X(write_data)                        \
  X(write_free)                        \
  X(write_header)                      \
  X(write_new)                         \
  X(write_open)                        \
  X(write_set_bytes_in_last_block)     \
  X(write_set_format_pax_restricted)

struct LibArchive {
#define KLEENE_LIBARCHIVE_MEMBER(name) decltype(&archive_##name) name = nullptr;
  KLEENE_LIBARCHIVE_FUNCTIONS(KLEENE_LIBARCHIVE_MEMBER)
#undef KLEENE_LIBARCHIVE_MEMBER
};

inline Result<LibArchive> load_libarchive() {
  auto shared = TRY(SharedLibrary::open("libarchive.so.13"));
  LibArchive library;
#define KLEENE_LIBARCHIVE_BIND(name) shared.bind(library.name, "archive_" #name);
  KLEENE_LIBARCHIVE_FUNCTIONS(KLEENE_LIBARCHIVE_BIND)
#undef KLEENE_LIBARCHIVE_BIND
  TRY(shared.check());
  return library;
}

// Loaded once per process; ENOENT "cannot load libarchive.so.13: ..." or ENOSYS "... lacks
// ..." for every caller when it cannot be.
inline const Result<LibArchive>& libarchive() {
  return load_once<LibArchive, load_libarchive>();
}

// The functions once libarchive() has succeeded: for code below a caller that checked it.
inline const LibArchive& loaded_libarchive() {
  return *libarchive();
}

}  // namespace kleene::util
