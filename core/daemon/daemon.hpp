// kleened's start-up sequence as an object, so tests can run a whole daemon in-process:
// logging, run dir, pidfile, metadata store, plugins, routes, listeners.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "util/error.hpp"

namespace kleene::daemon {

struct DaemonOptions {
  bool log_to_stderr = true;   // foreground mode
  bool handle_signals = true;  // catch SIGTERM/SIGINT for wait_for_signal()
};

class Daemon {
 public:
  static Result<std::unique_ptr<Daemon>> start(config::DaemonConfig config,
                                               DaemonOptions options = {});
  ~Daemon();  // stop()s
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // The URLs actually listening (port 0 resolved).
  std::vector<std::string> listening() const;
  // Why storage is not ready (what image/volume endpoints report): "starting" while kleened
  // opens it in the background, the failure, or "" when it is ready.
  std::string storage_error() const;
  // Block until storage has been opened or has failed (and the thread that opened it has
  // ended: a finished thread is not kept around); returns storage_error(). One caller at a time.
  std::string wait_for_storage();
  // Block until SIGTERM or SIGINT (needs handle_signals).
  void wait_for_signal();
  // Stop serving, close connections, remove the socket files and the pidfile. Idempotent.
  void stop();

  struct State;

 private:
  explicit Daemon(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace kleene::daemon
