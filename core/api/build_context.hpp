// A build context uploaded over the /images/build WebSocket (our extension of Kleene's
// protocol): after an ImageBuildConfig with "context_upload": true, the client sends the context
// as an uncompressed tar in binary frames (at most 1 MiB each) and then one empty binary frame.
// kleened unpacks it, with the hostile-archive rules of image creation, into a fresh private
// directory that lives exactly as long as the build.
#pragma once

#include <chrono>
#include <string>

#include "api/websocket.hpp"
#include "image/create/limits.hpp"
#include "util/error.hpp"
#include "util/unique_fd.hpp"

namespace kleene::api {

// The caps of an upload: 8 GiB of stream (and of file data), no device nodes.
image::ExtractLimits default_context_limits();

// Frames must keep coming: at most this long between two of them.
inline constexpr std::chrono::milliseconds kContextFrameTimeout = std::chrono::seconds(60);

// A directory holding an uploaded build context; removed (recursively, fd-relative, never
// following symlinks or crossing mounts) by the destructor. Move-only; a moved-from object owns
// nothing.
class UploadedContext {
 public:
  UploadedContext() = default;
  UploadedContext(UniqueFd parent, std::string name, std::string path);
  ~UploadedContext();
  UploadedContext(UploadedContext&& other) noexcept;
  UploadedContext& operator=(UploadedContext&& other) noexcept;
  UploadedContext(const UploadedContext&) = delete;
  UploadedContext& operator=(const UploadedContext&) = delete;

  // The absolute path of the context directory ("<parent>/context-<id>").
  const std::string& path() const { return path_; }
  // The directory itself (O_PATH), for fd-relative reads (builder::open_in_context).
  int fd() const { return dir_.get(); }

  // Remove the directory now; errors are logged, the object owns nothing afterwards.
  void remove();

 private:
  UniqueFd parent_;  // the directory that holds it
  UniqueFd dir_;
  std::string name_;
  std::string path_;
};

// Reads binary frames from `ws` until the empty end frame and extracts them below a new
// directory (mode 0700) under `parent` (created 0700 if missing). Errors, with nothing left on
// disk:
//   EINVAL     a text frame where context data was expected
//   ECONNRESET the client closed the connection before the end frame
//   ETIMEDOUT  no frame for `frame_timeout`
//   EPERM      a member that would land outside the directory (absolute, `..`, through a
//              symlink)
//   EFBIG      more than limits.max_total_size bytes in the stream, or limits.max_entries members
//   EILSEQ     not a tar stream
Result<UploadedContext> receive_context(
    WsSession& ws, const std::string& parent,
    const image::ExtractLimits& limits = default_context_limits(),
    std::chrono::milliseconds frame_timeout = kContextFrameTimeout);

}  // namespace kleene::api
