#include "api/build_context.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "image/create/beneath.hpp"
#include "image/create/extract.hpp"
#include "util/ids.hpp"

namespace kleene::api {
namespace {

// The tar stream, frame by frame, until the empty end frame.
class WsContextSource final : public image::ByteSource {
 public:
  WsContextSource(WsSession& ws, uint64_t max_bytes, std::chrono::milliseconds timeout)
      : ws_(ws), max_bytes_(max_bytes), timeout_(timeout) {}

  Result<std::string_view> read() override {
    if (ended_) return std::string_view();
    auto frame = ws_.read(timeout_);
    if (!frame && frame.error().code == ETIMEDOUT) {
      const auto ms = timeout_.count();
      return make_error(ETIMEDOUT, "no build context data from the client for " +
                                       (ms % 1000 == 0 ? std::to_string(ms / 1000) + " s"
                                                       : std::to_string(ms) + " ms"));
    }
    if (!frame) return std::unexpected(frame.error());
    if (!*frame) {
      return make_error(ECONNRESET,
                        "the client closed the connection before the end of the build context");
    }
    if (!(*frame)->binary) {
      return make_error(EINVAL, "expected the build context in binary frames, got a text frame");
    }
    buffer_ = std::move((*frame)->data);
    if (buffer_.empty()) ended_ = true;
    consumed_ += buffer_.size();
    if (consumed_ > max_bytes_) {
      return make_error(EFBIG, "the build context exceeds the upload limit of " +
                                   std::to_string(max_bytes_) + " bytes");
    }
    return std::string_view(buffer_);
  }
  uint64_t consumed() const override { return consumed_; }
  std::optional<uint64_t> size() const override { return std::nullopt; }

  bool ended() const { return ended_; }

 private:
  WsSession& ws_;
  uint64_t max_bytes_;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
  uint64_t consumed_ = 0;
  bool ended_ = false;
};

// `mkdir -p` where every directory it creates is owner-only.
Result<void> make_private_dirs(const std::string& path) {
  if (path.empty()) return make_error(EINVAL, "no directory for uploaded build contexts");
  for (std::size_t at = path.find('/', 1);; at = path.find('/', at + 1)) {
    const std::string prefix = path.substr(0, at);
    if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return errno_error("could not create " + prefix);
    }
    if (at == std::string::npos) return {};
  }
}

std::string join(const std::string& dir, std::string_view name) {
  return dir.empty() ? std::string(name) : dir + "/" + std::string(name);
}

// Empties the directory `path` below `root`, then the caller removes it. Only the root fd and
// one directory fd are open at any time (a hostile context may nest thousands of levels), and
// every open is RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV: a symlink is unlinked,
// never followed, and a mount inside is not entered. Goes on after an error, returns the first.
Result<void> empty_directory(int root, const std::string& path) {
  auto dir = TRY(image::open_beneath(root, path, O_RDONLY | O_DIRECTORY));
  std::optional<Error> first_error;
  auto note = [&first_error](const std::unexpected<Error>& error) {
    if (!first_error) first_error = error.error();
  };
  std::vector<std::string> subdirs;
  {
    const int copy = ::fcntl(dir.get(), F_DUPFD_CLOEXEC, 0);
    DIR* stream = copy < 0 ? nullptr : ::fdopendir(copy);
    if (!stream) {
      if (copy >= 0) ::close(copy);
      return errno_error("read directory '" + path + "'");
    }
    while (const dirent* entry = ::readdir(stream)) {
      const std::string_view name = entry->d_name;
      if (name == "." || name == "..") continue;
      bool is_dir = entry->d_type == DT_DIR;
      if (entry->d_type == DT_UNKNOWN) {
        struct stat st {};
        is_dir = ::fstatat(dir.get(), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                 S_ISDIR(st.st_mode);
      }
      if (is_dir) {
        subdirs.emplace_back(name);
      } else if (::unlinkat(dir.get(), entry->d_name, 0) != 0) {
        note(errno_error("unlink '" + join(path, name) + "'"));
      }
    }
    ::closedir(stream);
  }
  if (subdirs.empty()) {
    if (first_error) return std::unexpected(*first_error);
    return {};
  }
  dir.reset();
  for (const auto& name : subdirs) {
    if (auto emptied = empty_directory(root, join(path, name)); !emptied) {
      note(std::unexpected(emptied.error()));
    }
  }
  dir = TRY(image::open_beneath(root, path, O_RDONLY | O_DIRECTORY));
  for (const auto& name : subdirs) {
    if (::unlinkat(dir.get(), name.c_str(), AT_REMOVEDIR) != 0) {
      note(errno_error("rmdir '" + join(path, name) + "'"));
    }
  }
  if (first_error) return std::unexpected(*first_error);
  return {};
}

// The extraction's errors in the words of an upload; a member escaping through a symlink or a
// mount is the same offence as `..`.
Error upload_error(const Error& error) {
  if (error.code == ELOOP || error.code == EXDEV) {
    return Error{EPERM, "invalid build context: " + error.message};
  }
  switch (error.code) {
    case EINVAL:
    case ECONNRESET:
    case ETIMEDOUT:
    case EFBIG:
      return error;
    default:
      return error.wrap("invalid build context");
  }
}

}  // namespace

image::ExtractLimits default_context_limits() {
  image::ExtractLimits limits;
  limits.max_total_size = 8ull << 30;
  limits.allow_safe_devices = false;
  return limits;
}

UploadedContext::UploadedContext(UniqueFd parent, std::string name, std::string path)
    : parent_(std::move(parent)), name_(std::move(name)), path_(std::move(path)) {
  dir_.reset(::openat(parent_.get(), name_.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

UploadedContext::~UploadedContext() {
  remove();
}

UploadedContext::UploadedContext(UploadedContext&& other) noexcept
    : parent_(std::move(other.parent_)),
      dir_(std::move(other.dir_)),
      name_(std::exchange(other.name_, {})),
      path_(std::exchange(other.path_, {})) {}

UploadedContext& UploadedContext::operator=(UploadedContext&& other) noexcept {
  if (this != &other) {
    remove();
    parent_ = std::move(other.parent_);
    dir_ = std::move(other.dir_);
    name_ = std::exchange(other.name_, {});
    path_ = std::exchange(other.path_, {});
  }
  return *this;
}

void UploadedContext::remove() {
  if (!parent_) return;
  auto emptied = dir_ ? empty_directory(dir_.get(), "") : Result<void>();
  dir_.reset();
  if (!emptied) {
    spdlog::warn("could not remove the build context {}: {}", path_, emptied.error().message);
  } else if (::unlinkat(parent_.get(), name_.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    spdlog::warn("could not remove the build context {}: {}", path_, std::strerror(errno));
  }
  parent_.reset();
  name_.clear();
  path_.clear();
}

Result<UploadedContext> receive_context(WsSession& ws, const std::string& parent,
                                        const image::ExtractLimits& limits,
                                        std::chrono::milliseconds frame_timeout) {
  TRY(make_private_dirs(parent));
  UniqueFd parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!parent_fd) return errno_error("could not open " + parent);
  std::string name;
  for (int attempt = 0;; ++attempt) {
    name = "context-" + generate_id();
    if (::mkdirat(parent_fd.get(), name.c_str(), 0700) == 0) break;
    if (errno != EEXIST || attempt == 8)
      return errno_error("could not create a directory in " + parent);
  }
  UploadedContext context(std::move(parent_fd), name, join(parent, name));
  if (context.fd() < 0) return errno_error("could not open " + context.path());

  WsContextSource source(ws, limits.max_total_size, frame_timeout);
  if (auto extracted = image::extract_archive(source, context.fd(), limits); !extracted) {
    return std::unexpected(upload_error(extracted.error()));
  }
  // The tar ends before the stream does (record padding, trailing frames): read on to the
  // end frame, so the next frame the build reads is the client's own.
  while (!source.ended()) {
    if (auto chunk = source.read(); !chunk) return std::unexpected(upload_error(chunk.error()));
  }
  return context;
}

}  // namespace kleene::api
