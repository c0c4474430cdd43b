#include "options/settings.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "options/config_file.hpp"
#include "options/defaults.hpp"

namespace klee {
namespace {

template <typename T>
std::optional<T> first_of(const std::optional<T>& a, const std::optional<T>& b,
                          const std::optional<T>& c) {
  if (a) return a;
  if (b) return b;
  return c;
}

kleene::Result<std::optional<bool>> env_bool(const EnvLookup& env, std::string_view name) {
  auto value = env(name);
  if (!value) return std::optional<bool>{};
  std::string lower(*value);
  std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off" || lower.empty()) {
    return false;
  }
  return kleene::make_error(EINVAL, "Error! Invalid value for " + std::string(name) + ": '" +
                                        *value + "' is not one of 'true', 'false'.");
}

}  // namespace

EnvLookup process_environment() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* value = std::getenv(std::string(name).c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

kleene::Result<Theme> parse_theme(std::string_view text, std::string_view origin) {
  if (text == "fancy") return Theme::fancy;
  if (text == "simple") return Theme::simple;
  return kleene::make_error(EINVAL, "Error! Invalid value for " + std::string(origin) + ": '" +
                                        std::string(text) + "' is not one of 'fancy', 'simple'.");
}

kleene::Result<Settings> resolve_settings(const GlobalFlags& flags, const EnvLookup& env,
                                          const std::vector<std::string>& search) {
  auto config_path = flags.config ? flags.config : env("KLEE_CONFIG");
  auto file = TRY(load_config_file(config_path, search)).value_or(ConfigFile{});

  Settings s;
  s.config_path = file.path;
  s.host = first_of(flags.host, env("KLEE_HOST"), file.host).value_or(std::string(kDefaultHost));
  s.tlsverify = first_of(flags.tlsverify, TRY(env_bool(env, "KLEE_TLS_VERIFY")), file.tlsverify);
  s.tlscert = first_of(flags.tlscert, env("KLEE_TLS_CERT"), file.tlscert);
  s.tlskey = first_of(flags.tlskey, env("KLEE_TLS_KEY"), file.tlskey);
  s.tlscacert = first_of(flags.tlscacert, env("KLEE_TLS_CACERT"), file.tlscacert);

  if (flags.theme) {
    s.theme = TRY(parse_theme(*flags.theme, "'--theme'"));
  } else if (auto theme = env("KLEE_THEME")) {
    s.theme = TRY(parse_theme(*theme, "KLEE_THEME"));
  } else if (file.theme) {
    s.theme = TRY(parse_theme(*file.theme, "'theme' in " + file.path));
  }
  return s;
}

}  // namespace klee
