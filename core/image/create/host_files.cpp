#include "image/create/host_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/create/beneath.hpp"

namespace kleene::image {
namespace {

Result<std::string> read_all(int fd, const std::string& what) {
  std::string data;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read " + what);
    if (n == 0) return data;
    data.append(buffer, static_cast<std::size_t>(n));
    if (data.size() > (16 << 20)) return make_error(EFBIG, what + " is too large");
  }
}

}  // namespace

Result<bool> copy_host_file(const std::filesystem::path& source, int root,
                            const std::string& dest) {
  UniqueFd in(::open(source.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!in) {
    if (errno == ENOENT) return false;
    return errno_error("open " + source.string());
  }
  const std::string data = TRY(read_all(in.get(), source.string()));

  auto [parent, name] = TRY(open_parent(root, dest));
  struct stat st {};
  if (::fstatat(parent.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISDIR(st.st_mode)) return make_error(EISDIR, "'" + dest + "' is a directory");
    // A symlink (Debian's localtime) is replaced, never written through.
    if (::unlinkat(parent.get(), name.c_str(), 0) != 0) return errno_error("unlink " + dest);
  }
  UniqueFd out(::openat(parent.get(), name.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!out) return errno_error("create " + dest);
  for (std::size_t off = 0; off < data.size();) {
    const ssize_t n = ::write(out.get(), data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("write " + dest);
    off += static_cast<std::size_t>(n);
  }
  if (::fchown(out.get(), 0, 0) != 0 && ::geteuid() == 0) return errno_error("chown " + dest);
  if (::fchmod(out.get(), 0644) != 0) return errno_error("chmod " + dest);
  return true;
}

}  // namespace kleene::image
