// Opening one plugin file and checking its descriptor against the ABI the core knows.
#pragma once

#include <filesystem>
#include <memory>

#include "plugin/loaded_plugin.hpp"
#include "util/error.hpp"

namespace kleene::plugin::detail {

// dlopen (RTLD_NOW | RTLD_LOCAL) the file, call its entry point and validate the descriptor and
// ops table. The error message is the one-line reason for the refusal (without the path). The
// plugin is not created yet: the registry first checks its name is unique.
Result<std::unique_ptr<PluginInstance>> open_plugin(const std::filesystem::path& path);

}  // namespace kleene::plugin::detail
