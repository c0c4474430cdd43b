// The effective client settings: flag > KLEE_* environment > config file > default.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "options/global_options.hpp"
#include "util/error.hpp"

namespace klee {

enum class Theme { fancy, simple };

struct Settings {
  std::string host;
  std::optional<bool> tlsverify;  // unset: verify (https only)
  std::optional<std::string> tlscert;
  std::optional<std::string> tlskey;
  std::optional<std::string> tlscacert;
  Theme theme = Theme::fancy;
  std::string config_path;  // the config file that was used, empty if none

  // TLS server verification: on unless switched off explicitly.
  [[nodiscard]] bool verify_server() const { return tlsverify.value_or(true); }
};

// Reads one environment variable; tests pass a map instead of the real environment.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

[[nodiscard]] EnvLookup process_environment();

// KLEE_CONFIG, KLEE_THEME, KLEE_HOST, KLEE_TLS_VERIFY, KLEE_TLS_CERT, KLEE_TLS_KEY,
// KLEE_TLS_CACERT (Kleene's documented names).
// The config file is --config, else $KLEE_CONFIG, else the first of `search` that exists.
// Errors are configuration errors (exit 2); their message is complete.
[[nodiscard]] kleene::Result<Settings> resolve_settings(const GlobalFlags& flags,
                                                        const EnvLookup& env,
                                                        const std::vector<std::string>& search);

[[nodiscard]] kleene::Result<Theme> parse_theme(std::string_view text, std::string_view origin);

}  // namespace klee
