// Copying a host file (resolv.conf, localtime) into an image: read on the host side (its
// symlinks are the host's business), written below the image's directory fd without following
// anything in the image, replacing whatever member is there.
#pragma once

#include <filesystem>
#include <string>

#include "util/error.hpp"

namespace kleene::image {

// Copy `source` to `dest` (a relative path such as "etc/resolv.conf") below `root`, mode
// 0644, owned by root. false when `source` does not exist.
Result<bool> copy_host_file(const std::filesystem::path& source, int root, const std::string& dest);

}  // namespace kleene::image
