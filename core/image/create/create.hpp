// Creating a base image (Kleene's /images/create): fetch a tarball, build the host's release
// with debootstrap, or copy/clone a dataset; then copy resolv.conf/localtime, snapshot
// `<dataset>@image` and insert the row. On any failure nothing is left: no dataset, no
// snapshot of the source, no row.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "image/create/create_config.hpp"
#include "image/create/host_release.hpp"
#include "image/create/limits.hpp"
#include "image/image.hpp"
#include "util/error.hpp"

namespace kleene::storage {
class Storage;
}

namespace kleene::image {

// Where creation reports to: output frames, and whether the client is still there.
class Reporter {
 public:
  virtual ~Reporter() = default;
  // A line (or a chunk of a tool's output) for the client; Kleene's text frames.
  virtual void info(std::string_view text) = 0;
  // True once the client went away: creation stops and cleans up.
  virtual bool cancelled() = 0;
};

// The host files and tools creation uses; tests point them elsewhere.
struct HostPaths {
  std::filesystem::path resolv_conf = "/etc/resolv.conf";
  std::filesystem::path localtime = "/etc/localtime";
  std::filesystem::path debootstrap = "/usr/sbin/debootstrap";
  ReleasePaths release;
};

struct CreateEnv {
  storage::Storage& storage;
  ImageRepository& images;
  ExtractLimits limits;
  HostPaths host;
};

// The created image (its row is in the store). Errors carry the message for the client,
// e.g. "could not fetch file from url: ...", "invalid dataset", ECANCELED when the client left.
Result<Image> create_image(const CreateConfig& config, CreateEnv& env, Reporter& reporter);

}  // namespace kleene::image
