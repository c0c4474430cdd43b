// `kleened init [--dry-run]`: prepare the host's storage with the storage plugin the config
// names — start its service if needed, create or import the pool, create kleene's datasets.
// Prints one line per step ("create pool zroot on /var/lib/kleene/pool.img (8G, sparse)",
// "dataset zroot/kleene exists"); a dry run prints the changes as "would ..." and makes none.
#pragma once

#include <ostream>

#include "config/config.hpp"

namespace kleene::daemon {

// 0 on success; 1 with "kleened init: <error>" on `err`.
int run_init(const config::DaemonConfig& config, bool dry_run, std::ostream& out,
             std::ostream& err);

}  // namespace kleene::daemon
