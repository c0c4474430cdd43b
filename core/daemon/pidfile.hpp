// The pidfile: written with our PID (0644) and held with flock, so a second kleened refuses to
// start while the first lives; removed on clean shutdown.
#pragma once

#include <sys/types.h>

#include <filesystem>

#include "util/error.hpp"
#include "util/unique_fd.hpp"

namespace kleene::daemon {

class Pidfile {
 public:
  // EBUSY "another kleened (pid N) holds /var/run/kleened.pid" when it is locked.
  static Result<Pidfile> acquire(const std::filesystem::path& path);

  Pidfile() = default;
  Pidfile(Pidfile&&) noexcept = default;
  Pidfile& operator=(Pidfile&&) noexcept;
  ~Pidfile();

  // Remove the file (if it is still ours) and drop the lock. Idempotent.
  void release();

 private:
  Pidfile(std::filesystem::path path, UniqueFd fd, ino_t inode)
      : path_(std::move(path)), fd_(std::move(fd)), inode_(inode) {}
  std::filesystem::path path_;
  UniqueFd fd_;
  ino_t inode_ = 0;
};

}  // namespace kleene::daemon
