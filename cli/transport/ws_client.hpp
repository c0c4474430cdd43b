// Kleene's WebSocket protocol, client side: send the config frame, expect `starting`, stream
// the output frames, and return the Close code with its JSON reason.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "transport/close_reason.hpp"
#include "transport/endpoint.hpp"
#include "util/error.hpp"

namespace klee {

struct WsHandlers {
  // Each output frame as it arrives (text or binary). Default: written to stdout unbuffered.
  std::function<void(std::string_view)> on_output;
  // Called once after the `starting` frame (e.g. to switch the terminal to raw mode).
  std::function<void()> on_starting;
  // Forward stdin to the server as text frames until EOF (`-i`). Incomplete UTF-8 sequences
  // at the end of a read are held back until the rest arrives.
  bool forward_stdin = false;
  int stdin_fd = 0;
  // SIGINT/SIGTERM close the socket with 1000 "interrupted by user" (Kleene's client does so).
  bool close_on_signal = true;
  std::chrono::milliseconds handshake_timeout{30'000};
};

struct WsResult {
  bool started = false;     // the server sent `starting`
  unsigned close_code = 0;  // 1000 closing, 1001 detached, 1002 bad config, 1011 error, ...
  WsMessage reason;         // the Close reason, parsed
  std::string raw_reason;
};

namespace transport {
class WsConnection;
}

// On `conn` (open already when a request kept it). Transport failures (cannot connect,
// handshake declined, connection dropped without a Close) are errors; any Close frame,
// whatever its code, is a result.
[[nodiscard]] kleene::Result<WsResult> ws_session(std::unique_ptr<transport::WsConnection> conn,
                                                  std::string_view target,
                                                  std::string_view config_json,
                                                  WsHandlers handlers = {});

}  // namespace klee
