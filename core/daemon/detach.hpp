// --daemon: double fork and setsid, with a pipe back to the original process so it exits
// only when the daemon listens (0) or failed to start (1, printing the daemon's error).
#pragma once

#include "util/error.hpp"
#include "util/unique_fd.hpp"

namespace kleene::daemon {

// Returns in the daemon (grandchild) with the write end of the readiness pipe; the original
// process never returns (it exits with the daemon's verdict). stdio goes to /dev/null.
Result<UniqueFd> detach();

}  // namespace kleene::daemon
