// The build context as klee uploads it when kleened is not on this host: an uncompressed
// pax tar of PATH, cut into WebSocket-sized chunks (see core/api/build_context.hpp for the
// daemon's side and the protocol).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "util/error.hpp"

namespace klee {

// The largest chunk handed to the sink: one binary frame of the upload.
inline constexpr std::size_t kContextChunkSize = 1 << 20;

using ContextSink = std::function<kleene::Result<void>(std::string_view)>;

// Writes the context directory `dir` as an uncompressed pax tar to `sink` in chunks of at most
// kContextChunkSize bytes (never empty: the end-of-upload frame is the caller's), leaving out
// what <dir>/.dockerignore excludes except `dockerfile` (relative to `dir`) and .dockerignore,
// which always go. Regular files, directories and symlinks (as symlinks, never followed) keep
// their relative path ("a/b"), mode, owner and mtime; sockets, fifos and devices are left out.
// Everything is opened fd-relative without following symlinks. Returns the bytes written.
// Errors: the context cannot be opened or read, a file changed size while it was read, a path
// longer than PATH_MAX, a bad .dockerignore, or the sink's own error (returned as it is).
kleene::Result<std::uint64_t> pack_context(const std::string& dir, const std::string& dockerfile,
                                           const ContextSink& sink);

}  // namespace klee
