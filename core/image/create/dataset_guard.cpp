#include "image/create/dataset_guard.hpp"

#include <sys/mount.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "storage/storage.hpp"

namespace kleene::image {
namespace {

// /proc/self/mountinfo escapes blanks and backslashes as \ooo.
std::string unescape_mountinfo(const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size()) {
      out += static_cast<char>(std::stoi(field.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

}  // namespace

int unmount_below(const std::filesystem::path& dir) {
  const std::string prefix = dir.string() + "/";
  std::vector<std::string> targets;
  std::ifstream in("/proc/self/mountinfo");
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string id, parent, devno, root, mountpoint;
    fields >> id >> parent >> devno >> root >> mountpoint;
    mountpoint = unescape_mountinfo(mountpoint);
    if (mountpoint.starts_with(prefix)) targets.push_back(mountpoint);
  }
  std::ranges::sort(targets, std::greater<>());
  int count = 0;
  for (const auto& target : targets) {
    if (::umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) == 0) ++count;
  }
  return count;
}

DatasetGuard::~DatasetGuard() {
  for (const auto& dir : mount_dirs_)
    unmount_below(dir);
  for (auto it = names_.rbegin(); it != names_.rend(); ++it) {
    const bool snapshot = it->find('@') != std::string::npos;
    auto destroyed = storage_.destroy(*it, /*recursive=*/!snapshot);
    if (!destroyed) {
      spdlog::error("image create: could not clean up {}: {}", *it, destroyed.error().message);
    }
  }
}

}  // namespace kleene::image
