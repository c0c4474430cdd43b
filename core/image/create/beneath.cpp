#include "image/create/beneath.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "util/openat2.hpp"
#include "util/strings.hpp"

namespace kleene::image {
namespace {

constexpr uint64_t kResolve =
    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;

int openat2_fd(int dir, const char* path, int flags, mode_t mode) {
  return util::openat2_retrying(dir, path, static_cast<std::uint64_t>(flags), kResolve, mode);
}

Error path_error(int code, const std::string& path) {
  switch (code) {
    case ELOOP:
      return Error{ELOOP, "'" + path + "' goes through a symlink"};
    case EXDEV:
      return Error{EXDEV, "'" + path + "' leaves the image"};
    default:
      return Error{code, "'" + path + "': " + std::strerror(code)};
  }
}

}  // namespace

Result<std::string> normalize_member_path(std::string_view name) {
  if (name.empty()) return make_error(EINVAL, "empty member name");
  if (name.front() == '/') {
    return make_error(EPERM, "absolute path '" + std::string(name) + "'");
  }
  std::vector<std::string> parts;
  for (auto& part : split(name, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return make_error(EPERM, "path '" + std::string(name) + "' contains '..'");
    }
    parts.push_back(std::move(part));
  }
  return join(parts, "/");
}

Result<UniqueFd> open_beneath(int root, const std::string& path, int flags, mode_t mode) {
  const int fd = openat2_fd(root, path.empty() ? "." : path.c_str(), flags, mode);
  if (fd < 0) return std::unexpected(path_error(errno, path));
  return UniqueFd(fd);
}

Result<std::pair<UniqueFd, std::string>> open_parent(int root, const std::string& path) {
  const auto slash = path.rfind('/');
  std::string leaf = slash == std::string::npos ? path : path.substr(slash + 1);
  std::string parent = slash == std::string::npos ? std::string() : path.substr(0, slash);
  auto fast = open_beneath(root, parent, O_PATH | O_DIRECTORY);
  if (fast) return std::pair{std::move(*fast), std::move(leaf)};
  if (fast.error().code != ENOENT) return std::unexpected(fast.error());

  // Some component is missing: walk down, creating directories as needed.
  UniqueFd dir = TRY(open_beneath(root, "", O_PATH | O_DIRECTORY));
  std::string walked;
  for (const auto& part : split(parent, '/')) {
    walked += (walked.empty() ? "" : "/") + part;
    if (::mkdirat(dir.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
      return std::unexpected(path_error(errno, walked));
    }
    dir = TRY(open_beneath(dir.get(), part, O_PATH | O_DIRECTORY));
  }
  return std::pair{std::move(dir), std::move(leaf)};
}

}  // namespace kleene::image
