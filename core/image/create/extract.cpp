#include "image/create/extract.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#include "image/create/beneath.hpp"
#include "util/libarchive.hpp"

namespace kleene::image {
namespace {

using Clock = std::chrono::steady_clock;

// libarchive, loaded on the first extraction (util/libarchive.hpp); extract_archive checks that
// it loaded before anything here calls it.
constexpr auto lib = &util::loaded_libarchive;

struct ArchiveDeleter {
  void operator()(archive* a) const { lib().read_free(a); }
};

// Character devices a container may need and that give no access to host hardware.
constexpr std::array<std::pair<unsigned, unsigned>, 6> kSafeDevices = {
    {{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}}};  // null zero full random urandom tty

bool is_safe_device(dev_t rdev) {
  for (auto [major_no, minor_no] : kSafeDevices) {
    if (major(rdev) == major_no && minor(rdev) == minor_no) return true;
  }
  return false;
}

struct DirFixup {
  std::string path;
  mode_t mode;
  uid_t uid;
  gid_t gid;
  timespec mtime;
};

class Extractor {
 public:
  Extractor(ByteSource& source, int root, const ExtractLimits& limits,
            const ExtractCallbacks& callbacks)
      : source_(source), root_(root), limits_(limits), callbacks_(callbacks) {}

  Result<ExtractStats> run() {
    reader_.reset(lib().read_new());
    if (!reader_) return make_error(ENOMEM, "could not allocate an archive reader");
    archive* a = reader_.get();
    // Only built-in decompressors: never libarchive's fallback to external programs.
    lib().read_support_filter_none(a);
    lib().read_support_filter_gzip(a);
    lib().read_support_filter_bzip2(a);
    lib().read_support_filter_xz(a);
    lib().read_support_filter_lzma(a);
    lib().read_support_filter_zstd(a);
    lib().read_support_format_tar(a);
    if (lib().read_open(a, this, nullptr, &Extractor::on_read, nullptr) != ARCHIVE_OK) {
      return std::unexpected(archive_failure("corrupt archive"));
    }
    last_report_ = Clock::now();
    for (;;) {
      archive_entry* entry = nullptr;
      const int r = lib().read_next_header(a, &entry);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) return std::unexpected(archive_failure("corrupt archive"));
      TRY(extract_entry(entry));
      TRY(tick(false));
    }
    TRY(apply_directory_fixups());
    TRY(tick(true));
    return stats_;
  }

 private:
  static la_ssize_t on_read(archive* a, void* self_ptr, const void** buffer) {
    auto* self = static_cast<Extractor*>(self_ptr);
    if (auto ratio = self->check_ratio(); !ratio) {
      self->source_error_ = ratio.error();
      lib().set_error(a, ratio.error().code, "%s", ratio.error().message.c_str());
      return -1;
    }
    auto chunk = self->source_.read();
    if (!chunk) {
      self->source_error_ = chunk.error();
      lib().set_error(a, chunk.error().code, "%s", chunk.error().message.c_str());
      return -1;
    }
    *buffer = chunk->data();
    return static_cast<la_ssize_t>(chunk->size());
  }

  // A failure of libarchive: the source's own error if the read callback failed.
  Error archive_failure(std::string_view what) {
    if (source_error_) return *source_error_;
    const char* detail = lib().error_string(reader_.get());
    return Error{EILSEQ, std::string(what) + ": " + (detail ? detail : "unknown error")};
  }

  Result<void> check_ratio() const {
    if (!reader_) return {};
    const auto unpacked = static_cast<uint64_t>(lib().filter_bytes(reader_.get(), 0));
    const uint64_t packed = source_.consumed();
    if (unpacked > limits_.ratio_grace && unpacked > packed * limits_.max_ratio) {
      return make_error(
          EFBIG, "archive compression ratio exceeds " + std::to_string(limits_.max_ratio) + ":1");
    }
    return {};
  }

  Result<void> tick(bool force) {
    TRY(check_ratio());
    if (!callbacks_.progress) return {};
    const auto now = Clock::now();
    if (!force && now - last_report_ < limits_.progress_interval) return {};
    last_report_ = now;
    if (!callbacks_.progress(Progress{source_.consumed(), source_.size(), stats_.entries})) {
      return make_error(ECANCELED, "cancelled");
    }
    return {};
  }

  void warn(const std::string& message) {
    ++stats_.skipped;
    if (callbacks_.warning) callbacks_.warning(message);
  }

  Result<void> extract_entry(archive_entry* entry) {
    const char* raw_name = lib().entry_pathname(entry);
    const std::string path = TRY(normalize_member_path(raw_name ? raw_name : ""));
    if (path.empty()) return {};  // "./": the image root is the dataset's own directory
    if (++stats_.entries > limits_.max_entries) {
      return make_error(
          EFBIG, "archive has more than " + std::to_string(limits_.max_entries) + " members");
    }
    if (const char* link = lib().entry_hardlink(entry)) return make_hardlink(path, link);
    switch (lib().entry_filetype(entry)) {
      case AE_IFREG:
        return make_file(path, entry);
      case AE_IFDIR:
        return make_directory(path, entry);
      case AE_IFLNK:
        return make_symlink(path, entry);
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO:
        return make_node(path, entry);
      default:
        warn("skipping '" + path + "': unsupported member type");
        return {};
    }
  }

  // Make room for a new member at parent/name. True if a directory is there and we want one.
  Result<bool> clear_slot(int parent, const std::string& name, const std::string& path,
                          bool want_directory) {
    struct stat st {};
    if (::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return false;
      return errno_error("stat '" + path + "'");
    }
    if (S_ISDIR(st.st_mode)) {
      if (want_directory) return true;
      if (::unlinkat(parent, name.c_str(), AT_REMOVEDIR) != 0) {
        return errno_error("cannot replace directory '" + path + "'");
      }
      return false;
    }
    if (::unlinkat(parent, name.c_str(), 0) != 0) return errno_error("unlink '" + path + "'");
    return false;
  }

  Result<void> make_file(const std::string& path, archive_entry* entry) {
    const auto declared = static_cast<uint64_t>(std::max<la_int64_t>(0, lib().entry_size(entry)));
    declared_ += declared;
    if (declared_ > limits_.max_total_size) return size_error();
    auto [parent, name] = TRY(open_parent(root_, path));
    TRY(clear_slot(parent.get(), name, path, false));
    UniqueFd fd(::openat(parent.get(), name.c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return errno_error("create '" + path + "'");
    for (;;) {
      const void* data = nullptr;
      size_t size = 0;
      la_int64_t offset = 0;
      const int r = lib().read_data_block(reader_.get(), &data, &size, &offset);
      if (r == ARCHIVE_EOF) break;
      if (r < ARCHIVE_WARN) return std::unexpected(archive_failure("corrupt archive"));
      TRY(write_all(fd.get(), static_cast<const char*>(data), size, offset, path));
      stats_.bytes += size;
      if (stats_.bytes > limits_.max_total_size) return size_error();
      TRY(tick(false));
    }
    // Trailing holes of a sparse member.
    if (::ftruncate(fd.get(), static_cast<off_t>(declared)) != 0) {
      return errno_error("truncate '" + path + "'");
    }
    return apply_metadata(fd.get(), entry, path);
  }

  Result<void> write_all(int fd, const char* data, size_t size, la_int64_t offset,
                         const std::string& path) {
    while (size > 0) {
      const ssize_t n = ::pwrite(fd, data, size, static_cast<off_t>(offset));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error("write '" + path + "'");
      data += n;
      size -= static_cast<size_t>(n);
      offset += n;
    }
    return {};
  }

  Result<void> size_error() const {
    return make_error(EFBIG, "archive exceeds the size limit of " +
                                 std::to_string(limits_.max_total_size) + " bytes");
  }

  // Owner first: chown clears the set-id bits that chmod then restores.
  Result<void> apply_metadata(int fd, archive_entry* entry, const std::string& path) {
    if (::fchown(fd, static_cast<uid_t>(lib().entry_uid(entry)),
                 static_cast<gid_t>(lib().entry_gid(entry))) != 0 &&
        ::geteuid() == 0) {
      return errno_error("chown '" + path + "'");
    }
    if (::fchmod(fd, lib().entry_perm(entry) & 07777) != 0) {
      return errno_error("chmod '" + path + "'");
    }
    const timespec times[2] = {mtime(entry), mtime(entry)};
    (void)::futimens(fd, times);
    return {};
  }

  static timespec mtime(archive_entry* entry) {
    return timespec{static_cast<time_t>(lib().entry_mtime(entry)), lib().entry_mtime_nsec(entry)};
  }

  Result<void> make_directory(const std::string& path, archive_entry* entry) {
    auto [parent, name] = TRY(open_parent(root_, path));
    const bool exists = TRY(clear_slot(parent.get(), name, path, true));
    // Owner-only until the end, so a read-only directory does not block its own members.
    if (!exists && ::mkdirat(parent.get(), name.c_str(), 0700) != 0) {
      return errno_error("mkdir '" + path + "'");
    }
    dirs_.push_back(DirFixup{path, static_cast<mode_t>(lib().entry_perm(entry) & 07777),
                             static_cast<uid_t>(lib().entry_uid(entry)),
                             static_cast<gid_t>(lib().entry_gid(entry)), mtime(entry)});
    return {};
  }

  Result<void> make_symlink(const std::string& path, archive_entry* entry) {
    const char* target = lib().entry_symlink(entry);
    if (!target || !*target) return make_error(EILSEQ, "symlink '" + path + "' has no target");
    auto [parent, name] = TRY(open_parent(root_, path));
    TRY(clear_slot(parent.get(), name, path, false));
    // The target is stored as text and never followed while extracting.
    if (::symlinkat(target, parent.get(), name.c_str()) != 0) {
      return errno_error("symlink '" + path + "'");
    }
    (void)::fchownat(parent.get(), name.c_str(), static_cast<uid_t>(lib().entry_uid(entry)),
                     static_cast<gid_t>(lib().entry_gid(entry)), AT_SYMLINK_NOFOLLOW);
    const timespec times[2] = {mtime(entry), mtime(entry)};
    (void)::utimensat(parent.get(), name.c_str(), times, AT_SYMLINK_NOFOLLOW);
    return {};
  }

  Result<void> make_hardlink(const std::string& path, const char* link) {
    auto normalized = normalize_member_path(link);
    if (!normalized) return std::unexpected(normalized.error().wrap("hardlink '" + path + "'"));
    const std::string target = std::move(*normalized);
    if (target.empty() || target == path) {
      return make_error(EPERM, "hardlink '" + path + "' to itself or the root");
    }
    const auto slash = target.rfind('/');
    const std::string target_dir = slash == std::string::npos ? "" : target.substr(0, slash);
    const std::string target_name = slash == std::string::npos ? target : target.substr(slash + 1);
    auto target_parent = TRY(open_beneath(root_, target_dir, O_PATH | O_DIRECTORY));
    auto [parent, name] = TRY(open_parent(root_, path));
    TRY(clear_slot(parent.get(), name, path, false));
    // Flags 0: a symlink target is linked itself, never followed.
    if (::linkat(target_parent.get(), target_name.c_str(), parent.get(), name.c_str(), 0) != 0) {
      return errno_error("hardlink '" + path + "' to '" + target + "'");
    }
    return {};
  }

  Result<void> make_node(const std::string& path, archive_entry* entry) {
    const auto type = lib().entry_filetype(entry);
    const dev_t rdev = lib().entry_rdev(entry);
    mode_t mode = 0;
    uid_t uid = static_cast<uid_t>(lib().entry_uid(entry));
    gid_t gid = static_cast<gid_t>(lib().entry_gid(entry));
    if (type == AE_IFIFO) {
      mode = S_IFIFO | (lib().entry_perm(entry) & 0777);
    } else {
      const char* kind = type == AE_IFBLK ? "block device" : "character device";
      if (type != AE_IFCHR || !is_safe_device(rdev) || !limits_.allow_safe_devices ||
          ::geteuid() != 0) {
        warn("skipping " + std::string(kind) + " '" + path + "' (" + std::to_string(major(rdev)) +
             ":" + std::to_string(minor(rdev)) + ")");
        return {};
      }
      mode = S_IFCHR | (lib().entry_perm(entry) & 0666);
      uid = 0;
      gid = 0;
    }
    auto [parent, name] = TRY(open_parent(root_, path));
    TRY(clear_slot(parent.get(), name, path, false));
    if (::mknodat(parent.get(), name.c_str(), mode, type == AE_IFIFO ? 0 : rdev) != 0) {
      if (errno == EPERM) {
        warn("skipping '" + path + "': " + std::strerror(errno));
        return {};
      }
      return errno_error("mknod '" + path + "'");
    }
    (void)::fchownat(parent.get(), name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW);
    (void)::fchmodat(parent.get(), name.c_str(), mode & 07777, 0);
    return {};
  }

  // Deepest first, so a directory's own times are set after its members changed them.
  Result<void> apply_directory_fixups() {
    for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
      auto dir = open_beneath(root_, it->path, O_RDONLY | O_DIRECTORY);
      if (!dir) continue;  // replaced by a later member
      if (::fchown(dir->get(), it->uid, it->gid) != 0 && ::geteuid() == 0) {
        return errno_error("chown '" + it->path + "'");
      }
      if (::fchmod(dir->get(), it->mode) != 0) return errno_error("chmod '" + it->path + "'");
      const timespec times[2] = {it->mtime, it->mtime};
      (void)::futimens(dir->get(), times);
    }
    return {};
  }

  ByteSource& source_;
  int root_;
  const ExtractLimits& limits_;
  const ExtractCallbacks& callbacks_;
  std::unique_ptr<archive, ArchiveDeleter> reader_;
  std::optional<Error> source_error_;
  ExtractStats stats_;
  uint64_t declared_ = 0;
  std::vector<DirFixup> dirs_;
  Clock::time_point last_report_;
};

}  // namespace

Result<ExtractStats> extract_here(ByteSource& source, int root, const ExtractLimits& limits,
                                  const ExtractCallbacks& callbacks) {
  if (const auto& loaded = util::libarchive(); !loaded) return std::unexpected(loaded.error());
  Extractor extractor(source, root, limits, callbacks);
  return extractor.run();
}

}  // namespace kleene::image
