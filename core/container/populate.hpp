// Filling a new, empty volume from the image: what the container's root holds at the mount
// destination is copied into the volume (Kleene copies with `cp -a`; we copy fd-relative and
// never follow a symlink, so an image cannot point the copy at host files).
#pragma once

#include <filesystem>
#include <string_view>

#include "util/error.hpp"

namespace kleene::container {

// true when `dir` holds no entry (or does not exist).
Result<bool> directory_is_empty(const std::filesystem::path& dir);

// Copy the tree at `destination` (absolute, inside `rootfs`, resolved with RESOLVE_IN_ROOT)
// into `target_dir`: directories, regular files, symlinks (as links, never followed), with
// owner, mode and times. Devices, fifos and sockets are skipped. Nothing to copy when the
// destination does not exist or is not a directory.
Result<void> populate_from_rootfs(const std::filesystem::path& rootfs, std::string_view destination,
                                  const std::filesystem::path& target_dir);

}  // namespace kleene::container
