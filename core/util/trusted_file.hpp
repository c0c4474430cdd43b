// Files kleened runs as root (plugins, the keeper) must be as trusted as kleened itself: owned
// by root or kleened's user, and not writable by anyone else. Otherwise whoever can write the
// file or replace it in its directory runs code as root.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

#include "util/error.hpp"

namespace kleene::util {

// EPERM naming the file (after symlinks) or its directory when either belongs to another user or
// is writable by others (group-writable counts unless the group is root's); `refused` ends the
// message ("not loaded", "not run"). std::nullopt when trusted or missing (the caller reports a
// missing file in its own words).
[[nodiscard]] std::optional<Error> untrusted_file(const std::filesystem::path& path,
                                                  std::string_view refused);

}  // namespace kleene::util
