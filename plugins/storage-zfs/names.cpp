#include "names.hpp"

#include "kleene/plugin/sdk.hpp"

namespace kleene::zfs {
namespace {

constexpr std::size_t kMaxName = 255;  // ZFS_MAX_DATASET_NAME_LEN - 1

bool is_component_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == ':' || c == '-';
}

bool is_component(std::string_view part) {
  if (part.empty() || part == "." || part == ".." || part.front() == '-') return false;
  for (char c : part)
    if (!is_component_char(c)) return false;
  return true;
}

[[noreturn]] void invalid(std::string_view what, std::string_view name, std::string_view kind) {
  throw sdk::Error(KLEENE_E_INVALID, std::string(what) + ": '" + std::string(name) +
                                         "' is not a valid " + std::string(kind) + " name");
}

}  // namespace

bool is_dataset_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxName) return false;
  const char first = name.front();
  if (!((first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z'))) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = name.find('/', start);
    if (!is_component(name.substr(start, slash - start))) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool is_snapshot_name(std::string_view name) {
  const std::size_t at = name.find('@');
  if (at == std::string_view::npos || name.size() > kMaxName) return false;
  return is_dataset_name(name.substr(0, at)) && is_component(name.substr(at + 1));
}

void require_dataset(std::string_view name, std::string_view what) {
  if (!is_dataset_name(name)) invalid(what, name, "dataset");
}

void require_snapshot(std::string_view name, std::string_view what) {
  if (!is_snapshot_name(name)) invalid(what, name, "snapshot");
}

void require_dataset_or_snapshot(std::string_view name, std::string_view what) {
  if (!is_dataset_name(name) && !is_snapshot_name(name)) invalid(what, name, "dataset or snapshot");
}

std::string pool_of(std::string_view name) {
  return std::string(name.substr(0, name.find_first_of("/@")));
}

std::string dataset_of(std::string_view name) {
  return std::string(name.substr(0, name.find('@')));
}

}  // namespace kleene::zfs
