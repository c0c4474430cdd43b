#include "daemon/pidfile.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace kleene::daemon {

Result<Pidfile> Pidfile::acquire(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (!fd) return errno_error("pidfile " + path.string());
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return errno_error("lock pidfile " + path.string());
    char buffer[32] = {};
    const ssize_t n = ::pread(fd.get(), buffer, sizeof buffer - 1, 0);
    std::string pid = n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : "?";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' '))
      pid.pop_back();
    return make_error(EBUSY,
                      "another kleened (pid " + pid + ") holds the pidfile " + path.string());
  }
  const std::string text = std::to_string(::getpid()) + "\n";
  struct stat st {};
  if (::ftruncate(fd.get(), 0) != 0 || ::pwrite(fd.get(), text.data(), text.size(), 0) < 0 ||
      ::fchmod(fd.get(), 0644) != 0 || ::fstat(fd.get(), &st) != 0)
    return errno_error("write pidfile " + path.string());
  return Pidfile(path, std::move(fd), st.st_ino);
}

Pidfile& Pidfile::operator=(Pidfile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    fd_ = std::move(other.fd_);
    inode_ = std::exchange(other.inode_, 0);
  }
  return *this;
}

Pidfile::~Pidfile() {
  release();
}

void Pidfile::release() {
  if (!fd_) return;
  // Unlink while still holding the lock, and only our own file (not a successor's).
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && st.st_ino == inode_) ::unlink(path_.c_str());
  fd_.reset();
}

}  // namespace kleene::daemon
