// Kleene's ImageCreateConfig: the first frame of WebSocket /images/create.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "util/error.hpp"

namespace kleene::image {

struct CreateConfig {
  std::string method;       // fetch | fetch-auto | zfs-copy | zfs-clone
  std::string url;          // fetch
  std::string zfs_dataset;  // zfs-copy, zfs-clone
  std::string tag;          // "name[:tag]" or empty
  bool dns = true;          // copy the host's /etc/resolv.conf
  bool localtime = true;    // copy the host's /etc/localtime
  bool update = true;       // Kleene's freebsd-update; accepted and ignored on Linux
  bool autotag = false;     // fetch-auto: name the image <Distro>-<version>:latest
  bool force = false;       // fetch-auto: build even if the host's release is not recognised
};

// Cast and validate as Kleene's OpenApiSpex schema does (unknown keys are ignored). EINVAL
// with the cast message, e.g. "Missing field: method", "Invalid boolean. Got: string",
// "Invalid value for enum", or what the method needs, e.g. "url is required for method fetch".
Result<CreateConfig> parse_create_config(const nlohmann::json& json);

}  // namespace kleene::image
