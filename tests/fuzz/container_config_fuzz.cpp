// Fuzzes ContainerConfig as the API receives it (core/container/container.hpp): parse_config on
// any JSON, then the checks kleened applies at create (check_name, check_mounts) and the
// environment merge.
//
// Invariants, on top of ASan/UBSan (and no uncaught exception, e.g. from nlohmann's get<>):
//   - a rejected body names a field by JSON pointer;
//   - check_name returns the name without its leading '/', at most 64 characters of the rule;
//   - check_mounts leaves absolute, normalised, unique destinations without "." or "..";
//   - merge_env keeps one entry per variable name.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "container/container.hpp"
#include "fuzz_check.hpp"
#include "util/strings.hpp"

namespace c = kleene::container;

namespace {

void check_config(const nlohmann::json& body) {
  auto config = c::parse_config(body);
  if (!config) {
    KLEENE_FUZZ_CHECK(config.error().pointer.starts_with('/') && !config.error().message.empty(),
                      config.error().pointer + ": " + config.error().message);
    return;
  }
  if (config->name) {
    if (auto name = c::check_name(*config->name)) {
      KLEENE_FUZZ_CHECK(!name->empty() && name->size() <= 64 && !name->starts_with('/'), *name);
      KLEENE_FUZZ_CHECK(*config->name == *name || *config->name == "/" + *name, *name);
    }
  }
  if (config->mounts) {
    auto mounts = *config->mounts;
    if (c::check_mounts(mounts)) {
      std::set<std::string> seen;
      for (const auto& mount : mounts) {
        kleene::fuzz::check_destination(mount.destination);
        KLEENE_FUZZ_CHECK(seen.insert(mount.destination).second, mount.destination);
      }
    }
  }
  const std::vector<std::string> image_env = {"PATH=/usr/bin:/bin", "HOME=/root", "TERM"};
  const auto merged =
      kleene::merge_env(image_env, config->env.value_or(std::vector<std::string>{}));
  std::set<std::string> names;
  for (const auto& entry : merged)
    names.insert(entry.substr(0, entry.find('=')));
  // Duplicates inside the config's own list collapse into one entry too.
  KLEENE_FUZZ_CHECK(names.size() == merged.size(), "merge_env keeps a variable twice");
  (void)c::effective_user("", config->user.value_or(""), "", "root");
  (void)c::effective_cmd({}, config->cmd.value_or(std::vector<std::string>{}), {"/bin/sh"});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto body = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    // Not JSON: the text as a container name and a mount destination.
    (void)c::check_name(text);
    std::vector<c::MountConfig> mounts = {{"volume", "data", std::string(text), false}};
    if (c::check_mounts(mounts)) kleene::fuzz::check_destination(mounts.front().destination);
    return 0;
  }
  check_config(body);
  return 0;
}
