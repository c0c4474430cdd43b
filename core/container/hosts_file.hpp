// A container's /etc/hosts: rendered from its own addresses and its peers' on the same
// networks, and written inside the root filesystem without trusting the image (an /etc that
// is a symlink to / or to ../../.. stays inside the root; a `hosts` symlink is replaced, never
// followed).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.hpp"

namespace kleene::container::hosts {

// One line of the file: an address and the names it answers to (the first one canonical).
struct Entry {
  std::string address;
  std::vector<std::string> names;
};

// The first line of every file we write.
inline constexpr std::string_view kHeader = "# written by kleened; changes are overwritten\n";

// An IPv4 or IPv6 address that inet_pton accepts (no zone, no prefix length).
[[nodiscard]] bool is_valid_address(std::string_view address);

// An RFC 1123 host name, plus '_' (Kleene container names allow it): 1..253 characters,
// dot-separated labels of 1..63 characters from [A-Za-z0-9_-], not starting or ending with '-'.
// No whitespace, control characters or shell metacharacters can get through.
[[nodiscard]] bool is_valid_hostname(std::string_view name);

// The whole file: kHeader, the two loopback lines, then `self` in the order given, then
// `peers` sorted by address (IPv4 before IPv6, numerically) and then by names. Addresses are
// written in their canonical form (inet_ntop). An entry with an invalid address is skipped;
// invalid names are dropped from their entry, and an entry left without names is skipped.
// Repeated names within an entry, and entries repeating an earlier one, are removed.
[[nodiscard]] std::string render(const std::vector<Entry>& self, const std::vector<Entry>& peers);

// Replace <rootfs>/etc/hosts with `content`. "etc" is resolved inside the root
// (openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS); the content goes to a new temporary file
// "etc/.hosts.kleene-<random>" (mode 0644) that is renamed over "hosts", so readers see the
// old file or the new one, and a `hosts` symlink is replaced rather than followed. The
// temporary file is removed on any failure. A regular file `hosts` that holds `content`
// already is left as it is (most starts change nothing).
// An image without /etc (or whose /etc is a dangling symlink) has nothing to update: that
// returns success and writes nothing.
Result<void> write(const std::filesystem::path& rootfs, std::string_view content);

}  // namespace kleene::container::hosts
