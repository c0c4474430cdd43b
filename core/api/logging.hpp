// kleened's logging: spdlog to a rotating file (10 MB x 5) and, in the foreground, stderr.
#pragma once

#include "config/config.hpp"
#include "util/error.hpp"

namespace kleene::api {

// Install the default logger. Level from log_level (notice maps to info, as spdlog has no
// notice). An unwritable log file is an error naming it.
Result<void> setup_logging(const config::DaemonConfig& config, bool to_stderr);

}  // namespace kleene::api
