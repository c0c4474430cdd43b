// Execution instances as klee runs them (run, start, restart, exec): POST /exec/create, then
// the /exec/start WebSocket, detached or attached. Attached sessions stream the output, forward
// stdin (-i) and, with a tty (-t), put the local terminal in raw mode and send its size at the
// start and after every SIGWINCH. SIGINT/SIGTERM in an attached session close the socket and
// stop that execution instance, as Kleene's klee does. Internal to klee.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands/context.hpp"
#include "terminal/window_size.hpp"
#include "transport/endpoint.hpp"
#include "transport/ws_client.hpp"

namespace klee {

// kleene's client->server control frames on /exec/start (binary, first byte the kind; see
// docs/cli.md). Text frames carry stdin too (Kleene's way).
inline constexpr char kFrameStdin = 0x00;
inline constexpr char kFrameResize = 0x01;
inline constexpr char kFrameEndOfStdin = 0x02;
[[nodiscard]] std::string stdin_frame(std::string_view bytes);
[[nodiscard]] std::string resize_frame(WindowSize size);
[[nodiscard]] std::string end_of_stdin_frame();

struct AttachOptions {
  bool interactive = false;  // forward stdin_fd until EOF
  bool tty = false;          // raw mode and window size, when stdin_fd is a terminal
  int stdin_fd = 0;
  std::function<void(std::string_view)> on_output;  // each output frame
  bool handle_signals = true;                       // SIGINT/SIGTERM end the session
};

struct AttachResult {
  bool started = false;
  unsigned close_code = 0;
  WsMessage reason;
  int signal = 0;  // the signal that ended the session (0: the server closed it)
};

// One attached /exec/start session with `config` (an ExecStartConfig) as its first frame.
// Transport failures are errors; any Close is a result.
[[nodiscard]] kleene::Result<AttachResult> attach_session(const Endpoint& endpoint,
                                                          const nlohmann::json& config,
                                                          AttachOptions options);

struct ExecRequest {
  std::string container;
  std::vector<std::string> cmd;  // empty: the container's command
  std::vector<std::string> env;
  std::string user;
  bool tty = false;
  bool interactive = false;
  bool detach = false;
};

// Kleene's _execution_create_and_start: prints "created execution instance <id>", then runs
// it. Returns klee's exit code: attached, the process's exit code (128+N when klee was ended by
// signal N); detached, 0 once started; 1 on errors (printed).
int run_execution(const Context& ctx, const ExecRequest& request);

}  // namespace klee
