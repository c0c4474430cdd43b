// klee_config.yaml: Kleene's client configuration file.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "util/error.hpp"

namespace klee {

// The keys Kleene accepts; any other key makes the file invalid.
struct ConfigFile {
  std::string path;
  std::optional<std::string> host;
  std::optional<bool> tlsverify;
  std::optional<std::string> tlscert;
  std::optional<std::string> tlskey;
  std::optional<std::string> tlscacert;
  std::optional<std::string> theme;
};

// Kleene's search order on Linux: ./klee_config.yaml, ~/.klee/klee_config.yaml,
// /etc/klee/klee_config.yaml ("~" from $HOME; skipped when HOME is unset).
[[nodiscard]] std::vector<std::string> default_config_locations(
    const std::optional<std::string>& home);

// Parses one file. Errors name the file and, for a bad key, the key.
[[nodiscard]] kleene::Result<ConfigFile> parse_config_file(const std::string& path,
                                                           const std::string& text);

// With `explicit_path` (from --config or KLEE_CONFIG) only that file is read and it must
// exist; otherwise the first existing file of `search` is used, and none at all is fine.
[[nodiscard]] kleene::Result<std::optional<ConfigFile>> load_config_file(
    const std::optional<std::string>& explicit_path, const std::vector<std::string>& search);

}  // namespace klee
