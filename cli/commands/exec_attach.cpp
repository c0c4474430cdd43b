#include "commands/exec_attach.hpp"

#include <unistd.h>

#include <array>
#include <csignal>
#include <deque>
#include <optional>

#include <boost/beast/http/verb.hpp>

#include "commands/container_common.hpp"
#include "commands/image_volume_common.hpp"
#include "terminal/raw_mode.hpp"
#include "transport/http_client.hpp"
#include "transport/ws_connection.hpp"

namespace klee {
namespace {

using namespace transport;

constexpr std::size_t kMaxQueuedFrames = 16;  // stdin waits while this many frames are unsent

class AttachSession {
 public:
  AttachSession(std::unique_ptr<WsConnection> conn, AttachOptions options)
      : options_(std::move(options)), conn_(std::move(conn)) {}

  // On the connection the exec create kept, or a new one.
  kleene::Result<AttachResult> run(const std::string& config) {
    TRY(conn_->connect("/exec/start", std::chrono::seconds(30)));
    std::string first;
    if (auto ec = conn_->start(config, first)) return finish(ec);
    if (is_ws_message(first, "starting")) {
      result_.started = true;
    } else {
      options_.on_output(first);
    }

    setup_terminal();
    if (options_.interactive) {
      conn_->open_stdin(options_.stdin_fd);
      read_stdin();
    } else {
      queue(end_of_stdin_frame());  // nothing to send: the process sees end of input
    }
    if (options_.handle_signals) {
      conn_->signals().add(SIGINT);
      conn_->signals().add(SIGTERM);
      wait_for_signal();
    }
    conn_->read_frames([this](const std::string& frame) { options_.on_output(frame); });
    const auto ended = conn_->run();
    teardown_terminal();
    return finish(ended);
  }

 private:
  void setup_terminal() {
    const int fd = options_.stdin_fd;
    if (!options_.tty || ::isatty(fd) != 1) return;
    if (auto raw = RawMode::enable(fd)) raw_.emplace(std::move(*raw));
    const auto size = window_size(fd);
    if (size) queue(resize_frame(*size));
    watcher_.emplace(conn_->ioc(), fd, size,
                     [this](WindowSize changed) { queue(resize_frame(changed)); });
  }

  void teardown_terminal() {
    error_code ignored;
    conn_->signals().cancel(ignored);
    conn_->signals().clear(ignored);
    watcher_.reset();
    if (raw_) raw_->restore();
  }

  void wait_for_signal() {
    conn_->signals().async_wait([this](error_code e, int sig) {
      if (e) return;
      if (signal_ != 0) {  // a second one: stop waiting for the server
        conn_->ioc().stop();
        return;
      }
      signal_ = sig;
      conn_->async_close_normal("interrupted by user");
      wait_for_signal();
    });
  }

  void read_stdin() {
    auto* in = conn_->stdin_descriptor();
    if (in == nullptr) return queue(end_of_stdin_frame());
    in->async_read_some(asio::buffer(chunk_), [this](error_code ec, std::size_t n) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) return queue(end_of_stdin_frame());  // EOF or an unreadable stdin
      if (watcher_) watcher_->check();  // a resize before these keys reaches the server first
      queue(stdin_frame(std::string_view(chunk_.data(), n)));
      if (outbox_.size() < kMaxQueuedFrames) {
        read_stdin();
      } else {
        stdin_paused_ = true;
      }
    });
  }

  void queue(std::string frame) {
    outbox_.push_back(std::move(frame));
    if (!writing_) write_next();
  }

  void write_next() {
    if (stdin_paused_ && outbox_.size() < kMaxQueuedFrames / 2) {
      stdin_paused_ = false;
      read_stdin();
    }
    if (outbox_.empty()) {
      writing_ = false;
      return;
    }
    writing_ = true;
    conn_->async_write(outbox_.front(), /*binary=*/true, [this](error_code ec) {
      outbox_.pop_front();
      if (ec) {
        writing_ = false;  // the session is ending; the read side reports why
        return;
      }
      write_next();
    });
  }

  kleene::Result<AttachResult> finish(const error_code& ec) {
    result_.signal = signal_;
    // We hung up; the server's answer does not matter.
    if (!WsConnection::closed(ec) && signal_ != 0) return result_;
    auto close = TRY(conn_->close(ec));
    result_.close_code = close.code;
    result_.reason = std::move(close.reason);
    return result_;
  }

  AttachOptions options_;
  std::unique_ptr<WsConnection> conn_;
  std::optional<RawMode> raw_;
  std::optional<WindowSizeWatcher> watcher_;
  std::array<char, 4096> chunk_{};
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool stdin_paused_ = false;
  int signal_ = 0;
  AttachResult result_;
};

// Kleene's attached sessions stop their execution instance when klee is interrupted; kleened
// does so too when the socket goes, this makes sure of it. Its answer does not matter.
void stop_execution(const Context& ctx, const std::string& exec_id) {
  (void)ctx.client.request(
      {.method = boost::beast::http::verb::post,
       .target = "/exec/" + url_escape(exec_id) + "/stop?force_stop=false&stop_container=false",
       .timeout = std::chrono::seconds(15)});
}

int detached(const Context& ctx, const nlohmann::json& config) {
  WsHandlers handlers;
  handlers.on_output = [](std::string_view) {};
  auto result = ctx.websocket("/exec/start", config, std::move(handlers));
  if (!result) return result.error();
  if (result->close_code == 1001) return 0;
  ctx.err << "error starting container";
  if (!result->reason.message.empty()) ctx.err << ": " << result->reason.message;
  ctx.err << std::endl;
  return 1;
}

int attached(const Context& ctx, const std::string& exec_id, const nlohmann::json& config,
             const ExecRequest& request) {
  ctx.out << std::flush;
  AttachOptions options{.interactive = request.interactive,
                        .tty = request.tty,
                        .stdin_fd = STDIN_FILENO,
                        .on_output = [&ctx](std::string_view data) {
                          ctx.out.write(data.data(), static_cast<std::streamsize>(data.size()));
                          ctx.out.flush();
                        }};
  auto conn = ctx.client.connection();
  if (!conn) return ctx.fail(conn.error());
  AttachSession session(std::move(*conn), std::move(options));
  auto result = session.run(config.dump());
  if (!result) return ctx.fail(result.error());
  if (result->signal != 0) {
    stop_execution(ctx, exec_id);
    ctx.out << std::endl;
    return 128 + result->signal;
  }
  const auto& reason = result->reason;
  auto code = parse_exit_code(reason.message);
  if (!code) code = parse_exit_code("exited with exit-code " + reason.data);
  // Kleene's first kleened closed with 1001 when only the executable ended.
  const bool ended = result->close_code == 1000 || (result->close_code == 1001 && code);
  if (!ended || reason.msg_type == "error") {
    ctx.out << std::flush;
    ctx.err << (reason.message.empty() ? "ERROR! Some unexpected error occured" : reason.message)
            << std::endl;
    return 1;
  }
  // Kleene's klee ends the output with an empty echo, then the closing message (and its data).
  ctx.out << "\n" << reason.message << "\n";
  if (!reason.data.empty() && (!code || reason.data != std::to_string(*code))) {
    ctx.out << reason.data << "\n";
  }
  ctx.out << std::flush;
  return code.value_or(0);
}

}  // namespace

std::string stdin_frame(std::string_view bytes) {
  std::string frame(1, kFrameStdin);
  frame.append(bytes);
  return frame;
}

std::string resize_frame(WindowSize size) {
  std::string frame(1, kFrameResize);
  frame += nlohmann::json{{"rows", size.rows}, {"cols", size.columns}}.dump();
  return frame;
}

std::string end_of_stdin_frame() {
  return std::string(1, kFrameEndOfStdin);
}

kleene::Result<AttachResult> attach_session(const Endpoint& endpoint, const nlohmann::json& config,
                                            AttachOptions options) {
  if (!options.on_output) options.on_output = [](std::string_view) {};
  const auto text = config.dump();
  AttachSession session(std::make_unique<WsConnection>(endpoint), std::move(options));
  return session.run(text);
}

int run_execution(const Context& ctx, const ExecRequest& request) {
  const nlohmann::json exec_config = {{"container_id", request.container},
                                      {"cmd", request.cmd},
                                      {"env", request.env},
                                      {"user", request.user},
                                      {"tty", request.tty}};
  // The connection stays for the start (/exec/start on the same one).
  auto response = ctx.client.request({.method = boost::beast::http::verb::post,
                                      .target = "/exec/create",
                                      .body = exec_config.dump(),
                                      .keep_connection = true});
  if (!response) return ctx.fail(response.error());
  if (response->status != 201) return ctx.fail(*response);
  auto body = response->json();
  if (!body || !body->is_object() || !body->contains("id") || !(*body)["id"].is_string()) {
    return ctx.fail(
        kleene::Error{kProtocolError, "Error! Unexpected response received from Kleened."});
  }
  const auto exec_id = (*body)["id"].get<std::string>();
  ctx.out << "created execution instance " << exec_id << "\n" << std::flush;
  const nlohmann::json start = {
      {"exec_id", exec_id}, {"attach", !request.detach}, {"start_container", true}};
  return request.detach ? detached(ctx, start) : attached(ctx, exec_id, start, request);
}

}  // namespace klee
