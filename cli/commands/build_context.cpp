#include "commands/build_context.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "builder/context.hpp"
#include "util/libarchive.hpp"
#include "util/unique_fd.hpp"

namespace klee {
namespace {

using kleene::Error;
using kleene::Result;
using kleene::UniqueFd;

// libarchive is loaded when a context is packed (an upload to a remote kleened), not at every
// klee start (util/libarchive.hpp); everything below pack_context, which loads it, uses it.
constexpr auto lib = &kleene::util::loaded_libarchive;

struct EntryDeleter {
  void operator()(archive_entry* entry) const { lib().entry_free(entry); }
};
using Entry = std::unique_ptr<archive_entry, EntryDeleter>;

// libarchive's tar writer; its output is gathered and handed to the sink in full chunks.
class TarWriter {
 public:
  explicit TarWriter(const ContextSink& sink) : writer_(lib().write_new()), sink_(sink) {}
  // Freeing an unclosed writer would write the end of the archive: after an error, the sink
  // must not get a tar that looks complete.
  ~TarWriter() {
    abandoned_ = true;
    lib().write_free(writer_);
  }
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  Result<void> open() {
    if (!writer_) return kleene::make_error(ENOMEM, "could not allocate a tar writer");
    // ustar where it suffices, pax headers only for long names, big files, large ids.
    if (lib().write_set_format_pax_restricted(writer_) != ARCHIVE_OK ||
        lib().write_set_bytes_in_last_block(writer_, 1) != ARCHIVE_OK ||
        lib().write_open(writer_, this, nullptr, &TarWriter::on_write, nullptr) != ARCHIVE_OK) {
      return std::unexpected(failure("tar"));
    }
    return {};
  }

  Result<void> header(archive_entry* entry, const std::string& path) {
    if (lib().write_header(writer_, entry) < ARCHIVE_WARN) return std::unexpected(failure(path));
    return {};
  }

  Result<void> data(const char* bytes, std::size_t size, const std::string& path) {
    if (lib().write_data(writer_, bytes, size) < 0) return std::unexpected(failure(path));
    return {};
  }

  // The end-of-archive blocks, then what is left in the buffer.
  Result<uint64_t> finish() {
    if (lib().write_close(writer_) != ARCHIVE_OK) return std::unexpected(failure("tar"));
    if (!pending_.empty()) TRY(flush(pending_));
    pending_.clear();
    return written_;
  }

 private:
  static la_ssize_t on_write(archive* a, void* self_ptr, const void* bytes, size_t size) {
    auto* self = static_cast<TarWriter*>(self_ptr);
    if (self->abandoned_ || self->sink_error_) return -1;
    self->pending_.append(static_cast<const char*>(bytes), size);
    std::size_t at = 0;
    for (; self->pending_.size() - at >= kContextChunkSize; at += kContextChunkSize) {
      auto sent = self->flush(std::string_view(self->pending_).substr(at, kContextChunkSize));
      if (!sent) {
        lib().set_error(a, sent.error().code, "%s", sent.error().message.c_str());
        return -1;
      }
    }
    self->pending_.erase(0, at);
    return static_cast<la_ssize_t>(size);
  }

  Result<void> flush(std::string_view chunk) {
    if (auto sent = sink_(chunk); !sent) {
      sink_error_ = sent.error();
      return sent;
    }
    written_ += chunk.size();
    return {};
  }

  // The sink's error as it is; else libarchive's, naming the member.
  Error failure(const std::string& path) const {
    if (sink_error_) return *sink_error_;
    const char* detail = lib().error_string(writer_);
    return Error{EIO, "could not pack " + path + ": " + (detail ? detail : "unknown error")};
  }

  archive* writer_;
  const ContextSink& sink_;
  std::string pending_;
  std::optional<Error> sink_error_;
  uint64_t written_ = 0;
  bool abandoned_ = false;
};

std::string join(const std::string& dir, const std::string& name) {
  return dir.empty() ? name : dir + "/" + name;
}

// The Dockerfile's path relative to the context ("sub/Dockerfile"), or "" if it is not in it.
std::string context_relative(const std::string& dockerfile) {
  const auto path = std::filesystem::path(dockerfile).lexically_normal();
  if (path.empty() || path.is_absolute() || *path.begin() == "..") return "";
  auto text = path.generic_string();
  while (!text.empty() && text.back() == '/')
    text.pop_back();
  return text == "." ? "" : text;
}

Result<std::vector<std::string>> list_directory(int dir, const std::string& path) {
  const int copy = ::fcntl(dir, F_DUPFD_CLOEXEC, 0);
  DIR* stream = copy < 0 ? nullptr : ::fdopendir(copy);
  if (!stream) {
    if (copy >= 0) ::close(copy);
    return kleene::errno_error("could not read " + (path.empty() ? "." : path));
  }
  std::vector<std::string> names;
  errno = 0;
  while (const dirent* entry = ::readdir(stream)) {
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  const int read_errno = errno;
  ::closedir(stream);
  if (read_errno != 0) {
    errno = read_errno;
    return kleene::errno_error("could not read " + (path.empty() ? "." : path));
  }
  std::sort(names.begin(), names.end());  // the same tar for the same tree
  return names;
}

class Packer {
 public:
  Packer(TarWriter& tar, const kleene::builder::IgnoreRules& ignore, std::string dockerfile)
      : tar_(tar), ignore_(ignore), dockerfile_(std::move(dockerfile)) {}

  // The members below the directory `dir` (the context itself when `path` is "").
  Result<void> directory(int dir, const std::string& path) {
    for (const auto& name : TRY(list_directory(dir, path)))
      TRY(member(dir, name, join(path, name)));
    return {};
  }

 private:
  Result<void> member(int parent, const std::string& name, const std::string& path) {
    struct stat st {};
    if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return {};  // gone since the directory was read
      return kleene::errno_error("could not stat " + path);
    }
    const bool always = path == dockerfile_ || path == ".dockerignore";
    const bool excluded = !always && ignore_.ignored(path);
    if (S_ISDIR(st.st_mode)) {
      const bool search = !excluded ||
                          (ignore_.has_exceptions() && ignore_.may_include_below(path)) ||
                          dockerfile_.starts_with(path + "/");
      TRY(ignore_.within_budget());
      if (!excluded) TRY(write_header(st, path, AE_IFDIR));
      if (!search) return {};
      UniqueFd dir(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!dir) return kleene::errno_error("could not open " + path);
      return directory(dir.get(), path);
    }
    TRY(ignore_.within_budget());
    if (excluded) return {};
    if (S_ISREG(st.st_mode)) return file(parent, name, path);
    if (S_ISLNK(st.st_mode)) return symlink(parent, name, path, st);
    return {};  // sockets, fifos, devices: nothing a build can COPY
  }

  Result<void> file(int parent, const std::string& name, const std::string& path) {
    // O_NONBLOCK: a fifo swapped in since the stat must not block the upload.
    UniqueFd fd(
        ::openat(parent, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) return kleene::errno_error("could not open " + path);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return kleene::errno_error("could not stat " + path);
    if (!S_ISREG(st.st_mode)) return {};
    TRY(write_header(st, path, AE_IFREG));
    std::vector<char> buffer(256 * 1024);
    for (auto left = static_cast<uint64_t>(st.st_size); left > 0;) {
      const auto want = static_cast<std::size_t>(std::min<uint64_t>(left, buffer.size()));
      const ssize_t n = ::read(fd.get(), buffer.data(), want);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return kleene::errno_error("could not read " + path);
      if (n == 0) {
        return kleene::make_error(EIO, path + " changed while the build context was sent");
      }
      TRY(tar_.data(buffer.data(), static_cast<std::size_t>(n), path));
      left -= static_cast<uint64_t>(n);
    }
    return {};
  }

  Result<void> symlink(int parent, const std::string& name, const std::string& path,
                       const struct stat& st) {
    std::string target(static_cast<std::size_t>(std::max<off_t>(st.st_size, 0)) + 1, '\0');
    const ssize_t n = ::readlinkat(parent, name.c_str(), target.data(), target.size());
    if (n < 0) return kleene::errno_error("could not read the symlink " + path);
    if (static_cast<std::size_t>(n) >= target.size()) {
      return kleene::make_error(EIO, path + " changed while the build context was sent");
    }
    target.resize(static_cast<std::size_t>(n));
    return write_header(st, path, AE_IFLNK, target);
  }

  Result<void> write_header(const struct stat& st, const std::string& path, unsigned type,
                            const std::string& link_target = {}) {
    if (path.size() >= PATH_MAX) {
      return kleene::make_error(ENAMETOOLONG, "path too long in the build context: " + path);
    }
    Entry entry(lib().entry_new());
    if (!entry) return kleene::make_error(ENOMEM, "could not allocate a tar entry");
    lib().entry_set_pathname(entry.get(), path.c_str());
    lib().entry_set_filetype(entry.get(), type);
    lib().entry_set_perm(entry.get(), st.st_mode & 07777);
    lib().entry_set_uid(entry.get(), st.st_uid);
    lib().entry_set_gid(entry.get(), st.st_gid);
    lib().entry_set_mtime(entry.get(), st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    lib().entry_set_size(entry.get(), type == AE_IFREG ? static_cast<la_int64_t>(st.st_size) : 0);
    if (type == AE_IFLNK) lib().entry_set_symlink(entry.get(), link_target.c_str());
    return tar_.header(entry.get(), path);
  }

  TarWriter& tar_;
  const kleene::builder::IgnoreRules& ignore_;
  std::string dockerfile_;
};

}  // namespace

Result<std::uint64_t> pack_context(const std::string& dir, const std::string& dockerfile,
                                   const ContextSink& sink) {
  // The context itself may be given through a symlink; nothing below it is followed.
  UniqueFd root(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) return kleene::errno_error("could not open the build context " + dir);
  auto ignore = kleene::builder::load_dockerignore(root.get());
  if (!ignore) return std::unexpected(ignore.error());
  if (const auto& loaded = kleene::util::libarchive(); !loaded)
    return std::unexpected(loaded.error());
  TarWriter tar(sink);
  TRY(tar.open());
  Packer packer(tar, *ignore, context_relative(dockerfile));
  TRY(packer.directory(root.get(), ""));
  return tar.finish();
}

}  // namespace klee
