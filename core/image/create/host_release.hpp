// fetch-auto on Linux: which release the host runs (/etc/os-release) and where its packages
// come from (the apt sources, one-line and deb822), so debootstrap can build the same
// release from the same mirror.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace kleene::image {

struct OsRelease {
  std::string id;           // "debian"
  std::string id_like;      // "debian" for derivatives
  std::string name;         // "Debian GNU/Linux"
  std::string pretty_name;  // "Debian GNU/Linux 12 (bookworm)"
  std::string version_id;   // "12"
  std::string codename;     // "bookworm"
};

// KEY=VALUE lines with optional quotes, as os-release(5) describes.
OsRelease parse_os_release(std::string_view text);

struct AptSource {
  std::string uri;  // "http://deb.debian.org/debian"
  std::vector<std::string> suites;
  std::vector<std::string> components;
};

// The enabled binary ("deb") entries of a sources.list (one-line format) or a .sources file
// (deb822); options in brackets and fields other than Types/URIs/Suites/Components/Enabled
// are ignored.
std::vector<AptSource> parse_sources_list(std::string_view text);
std::vector<AptSource> parse_deb822_sources(std::string_view text);

// <apt_dir>/sources.list and <apt_dir>/sources.list.d/*.list|*.sources, in that order.
std::vector<AptSource> read_apt_sources(const std::filesystem::path& apt_dir);

struct HostRelease {
  std::string distro;    // "Debian"
  std::string version;   // "12"
  std::string codename;  // "bookworm"
  std::string mirror;    // "http://deb.debian.org/debian"
  std::string arch;      // "amd64"
  std::string autotag() const { return distro + "-" + version + ":latest"; }
};

struct ReleasePaths {
  std::filesystem::path os_release = "/etc/os-release";
  std::filesystem::path apt_dir = "/etc/apt";
  std::filesystem::path debootstrap_scripts = "/usr/share/debootstrap/scripts";
};

// ENOTSUP when the host is not a release debootstrap can build (no codename, or no script
// for it) unless `force`; the mirror falls back to the distribution's main archive when no
// apt source names the codename.
Result<HostRelease> detect_host_release(const ReleasePaths& paths, bool force);

}  // namespace kleene::image
