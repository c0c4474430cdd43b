// Filesystem operations confined to a directory fd: every path is resolved with openat2()
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV, so no component may be a symlink,
// `..` or a mount crossing. This is what keeps an archive's entries inside the image: a
// symlink planted by one entry can never redirect a later write.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>

#include "util/error.hpp"
#include "util/unique_fd.hpp"

namespace kleene::image {

// An archive member name as a clean relative path: "./a//b/" -> "a/b". The root itself
// ("./", ".") becomes "". EPERM for an absolute path or a `..` component, EINVAL if empty.
Result<std::string> normalize_member_path(std::string_view name);

// Open `path` (relative, normalised) below `root`; "" opens root itself. `flags` get
// O_CLOEXEC (RESOLVE_NO_SYMLINKS refuses a symlink in the last component too). Errors name the
// path; ELOOP: it goes through a symlink.
Result<UniqueFd> open_beneath(int root, const std::string& path, int flags, mode_t mode = 0);

// The directory holding `path` (created with mode 0755 where missing, like tar does) and the
// last component. `path` must not be "".
Result<std::pair<UniqueFd, std::string>> open_parent(int root, const std::string& path);

}  // namespace kleene::image
