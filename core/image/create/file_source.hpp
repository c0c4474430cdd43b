// ByteSource over a local file, for file:// URLs and tests.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "image/create/source.hpp"

namespace kleene::image {

// The path of a file:// URL ("file:///p", "file://localhost/p"), percent-decoded; nullopt
// for any other scheme. A relative or remote-host file URL yields an empty path (ENOENT later).
std::optional<std::filesystem::path> file_url_path(std::string_view url);

Result<std::unique_ptr<ByteSource>> open_file(const std::filesystem::path& path);

}  // namespace kleene::image
