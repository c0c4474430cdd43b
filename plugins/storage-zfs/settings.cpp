#include "settings.hpp"

#include <algorithm>
#include <charconv>
#include <iterator>

#include "kleene/plugin/sdk.hpp"

namespace kleene::zfs {
namespace {

[[noreturn]] void bad(const std::string& key, const std::string& message) {
  throw sdk::Error(KLEENE_E_INVALID, "plugins.zfs." + key + ": " + message);
}

void path_of(const nlohmann::json& config, const char* key, std::string& target,
             bool allow_empty = false) {
  if (!config.contains(key)) return;
  const auto& value = config.at(key);
  if (!value.is_string()) bad(key, "expected a string");
  const std::string text = value.get<std::string>();
  if (text.empty() && allow_empty) {
    target.clear();
    return;
  }
  if (text.empty() || text.front() != '/') bad(key, "expected an absolute path");
  target = text;
}

}  // namespace

std::uint64_t parse_size(const std::string& text) {
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  auto [rest, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || value == 0) return 0;
  int shift = 0;
  if (rest != end) {
    if (rest + 1 != end) return 0;
    switch (*rest) {
      case 'K':
      case 'k':
        shift = 10;
        break;
      case 'M':
      case 'm':
        shift = 20;
        break;
      case 'G':
      case 'g':
        shift = 30;
        break;
      case 'T':
      case 't':
        shift = 40;
        break;
      default:
        return 0;
    }
  }
  if (value > (UINT64_MAX >> shift)) return 0;
  return value << shift;
}

Settings parse_settings(const nlohmann::json& config) {
  Settings settings;
  if (!config.is_object()) bad("", "expected a map of settings");
  static const char* const kKeys[] = {"zfs",
                                      "zpool",
                                      "zfs_fuse",
                                      "zfs_fuse_pidfile",
                                      "cp",
                                      "pool_file",
                                      "pool_size",
                                      "pool_mountpoint",
                                      "pool_cachefile",
                                      "busy_retries",
                                      "command_lock",
                                      "fuse_read_ahead_kb"};
  for (const auto& item : config.items()) {
    if (std::find(std::begin(kKeys), std::end(kKeys), item.key()) == std::end(kKeys))
      bad(item.key(), "unknown key");
  }
  path_of(config, "zfs", settings.zfs);
  path_of(config, "zpool", settings.zpool);
  path_of(config, "zfs_fuse", settings.zfs_fuse, true);
  path_of(config, "zfs_fuse_pidfile", settings.zfs_fuse_pidfile);
  path_of(config, "cp", settings.cp);
  path_of(config, "pool_file", settings.pool_file);
  path_of(config, "pool_mountpoint", settings.pool_mountpoint, true);
  path_of(config, "command_lock", settings.command_lock, true);
  if (config.contains("pool_cachefile")) {
    const auto& value = config.at("pool_cachefile");
    if (!value.is_string()) bad("pool_cachefile", "expected a string");
    settings.pool_cachefile = value.get<std::string>();
    if (!settings.pool_cachefile.empty() && settings.pool_cachefile != "none" &&
        settings.pool_cachefile.front() != '/')
      bad("pool_cachefile", "expected an absolute path or none");
  }
  if (config.contains("pool_size")) {
    const auto& value = config.at("pool_size");
    settings.pool_size = value.is_number_unsigned() ? std::to_string(value.get<std::uint64_t>())
                         : value.is_string()        ? value.get<std::string>()
                                                    : std::string();
    settings.pool_bytes = parse_size(settings.pool_size);
    if (settings.pool_bytes < (std::uint64_t{64} << 20))
      bad("pool_size", "expected a size of at least 64M, such as 8G");
  }
  if (config.contains("busy_retries")) {
    const auto& value = config.at("busy_retries");
    if (!value.is_number_integer() || value.get<int>() < 1 || value.get<int>() > 50)
      bad("busy_retries", "expected a number from 1 to 50");
    settings.busy_retries = value.get<int>();
  }
  if (config.contains("fuse_read_ahead_kb")) {
    const auto& value = config.at("fuse_read_ahead_kb");
    if (!value.is_number_unsigned() || value.get<std::uint64_t>() > 65536)
      bad("fuse_read_ahead_kb", "expected a number from 0 to 65536");
    settings.fuse_read_ahead_kb = value.get<std::uint32_t>();
  }
  return settings;
}

}  // namespace kleene::zfs
