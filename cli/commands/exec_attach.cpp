#include "commands/exec_attach.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <csignal>
#include <deque>
#include <optional>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "commands/container_common.hpp"
#include "commands/image_volume_common.hpp"
#include "options/defaults.hpp"
#include "terminal/raw_mode.hpp"
#include "transport/http_client.hpp"
#include "transport/stream.hpp"

namespace klee {
namespace {

namespace websocket = boost::beast::websocket;
using namespace transport;

constexpr std::size_t kMaxQueuedFrames = 16;  // stdin waits while this many frames are unsent

// stdin through a duplicate, so that asio may make it non-blocking; the shared file status
// flags are put back afterwards (the shell owns that terminal).
class StdinReader {
 public:
  StdinReader(asio::io_context& ioc, int fd) : flags_(::fcntl(fd, F_GETFL)), fd_(fd) {
    const int dup = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (dup >= 0) descriptor_.emplace(ioc, dup);
  }
  ~StdinReader() {
    if (descriptor_) {
      error_code ignored;
      descriptor_->close(ignored);
    }
    if (flags_ >= 0) ::fcntl(fd_, F_SETFL, flags_);
  }
  StdinReader(const StdinReader&) = delete;
  StdinReader& operator=(const StdinReader&) = delete;

  asio::posix::stream_descriptor* get() { return descriptor_ ? &*descriptor_ : nullptr; }

 private:
  int flags_;
  int fd_;
  std::optional<asio::posix::stream_descriptor> descriptor_;
};

template <typename S>
class AttachSession {
 public:
  AttachSession(const Endpoint& endpoint, AttachOptions options)
      : endpoint_(endpoint), options_(std::move(options)), signals_(ioc_) {
    if constexpr (is_tls<S>) {
      ws_.emplace(ioc_, *endpoint.tls);
    } else {
      ws_.emplace(ioc_);
    }
  }

  kleene::Result<AttachResult> run(const std::string& config) {
    TRY(establish(ioc_, ws_->next_layer(), endpoint_));
    beast::get_lowest_layer(*ws_).expires_never();
    ws_->set_option(websocket::stream_base::timeout{std::chrono::seconds(30),
                                                    websocket::stream_base::none(), false});
    ws_->set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(boost::beast::http::field::user_agent, "klee/" + std::string(kVersion));
    }));
    websocket::response_type response;
    auto ec = run_step(ioc_, [&](auto h) {
      ws_->async_handshake(response, endpoint_.url.authority(), "/exec/start", std::move(h));
    });
    if (ec == websocket::error::upgrade_declined) {
      HttpResponse declined{response.result_int(), {}, response.body()};
      return kleene::make_error(kProtocolError, declined.error_message());
    }
    if (ec) return std::unexpected(transport_error(ec, "websocket handshake"));

    ws_->text(true);
    ec = run_step(ioc_, [&](auto h) { ws_->async_write(asio::buffer(config), std::move(h)); });
    if (ec) return finish(ec);
    ec = run_step(ioc_, [&](auto h) { ws_->async_read(buffer_, std::move(h)); });
    if (ec) return finish(ec);
    const auto first = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    if (is_ws_message(first, "starting")) {
      result_.started = true;
    } else {
      options_.on_output(first);
    }

    setup_terminal();
    if (options_.interactive) {
      stdin_.emplace(ioc_, options_.stdin_fd);
      read_stdin();
    } else {
      queue(end_of_stdin_frame());  // nothing to send: the process sees end of input
    }
    if (options_.handle_signals) {
      signals_.add(SIGINT);
      signals_.add(SIGTERM);
      wait_for_signal();
    }
    read_frames();
    ioc_.restart();
    ioc_.run();
    teardown_terminal();
    return finish(read_error_);
  }

 private:
  void setup_terminal() {
    const int fd = options_.stdin_fd;
    if (!options_.tty || ::isatty(fd) != 1) return;
    if (auto raw = RawMode::enable(fd)) raw_.emplace(std::move(*raw));
    if (auto size = window_size(fd)) queue(resize_frame(*size));
    watcher_.emplace(ioc_, fd, [this](WindowSize size) { queue(resize_frame(size)); });
  }

  void teardown_terminal() {
    error_code ignored;
    signals_.cancel(ignored);
    signals_.clear(ignored);
    watcher_.reset();
    if (raw_) raw_->restore();
  }

  void wait_for_signal() {
    signals_.async_wait([this](error_code e, int sig) {
      if (e) return;
      if (signal_ != 0) {  // a second one: stop waiting for the server
        ioc_.stop();
        return;
      }
      signal_ = sig;
      ws_->async_close({websocket::close_code::normal, "interrupted by user"}, [](error_code) {});
      wait_for_signal();
    });
  }

  void read_frames() {
    ws_->async_read(buffer_, [this](error_code ec, std::size_t) {
      if (ec) {
        read_error_ = ec;
        error_code ignored;
        signals_.cancel(ignored);
        if (stdin_ && stdin_->get()) stdin_->get()->cancel(ignored);
        ioc_.stop();
        return;
      }
      options_.on_output(beast::buffers_to_string(buffer_.data()));
      buffer_.consume(buffer_.size());
      read_frames();
    });
  }

  void read_stdin() {
    auto* in = stdin_->get();
    if (in == nullptr) return queue(end_of_stdin_frame());
    in->async_read_some(asio::buffer(chunk_), [this](error_code ec, std::size_t n) {
      if (ec == asio::error::operation_aborted) return;
      if (ec) return queue(end_of_stdin_frame());  // EOF or an unreadable stdin
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
    ws_->binary(true);
    ws_->async_write(asio::buffer(outbox_.front()), [this](error_code ec, std::size_t) {
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
    if (ec != websocket::error::closed) {
      if (signal_ != 0) return result_;  // we hung up; the server's answer does not matter
      if (ec == beast::error::timeout) return std::unexpected(transport_error(ec));
      return kleene::make_error(kProtocolError, "ERROR! Connection closed unexpectedly.");
    }
    const auto& reason = ws_->reason();
    result_.close_code = reason.code;
    result_.reason = parse_ws_message(std::string(reason.reason.data(), reason.reason.size()));
    return result_;
  }

  const Endpoint& endpoint_;
  AttachOptions options_;
  asio::io_context ioc_;
  std::optional<websocket::stream<S>> ws_;
  asio::signal_set signals_;
  std::optional<StdinReader> stdin_;
  std::optional<RawMode> raw_;
  std::optional<WindowSizeWatcher> watcher_;
  beast::flat_buffer buffer_;
  std::array<char, 4096> chunk_{};
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool stdin_paused_ = false;
  int signal_ = 0;
  error_code read_error_;
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
  auto endpoint = make_endpoint(ctx.client.settings());
  if (!endpoint) return ctx.fail(endpoint.error());
  ctx.out << std::flush;
  AttachOptions options{.interactive = request.interactive,
                        .tty = request.tty,
                        .stdin_fd = STDIN_FILENO,
                        .on_output = [&ctx](std::string_view data) {
                          ctx.out.write(data.data(), static_cast<std::streamsize>(data.size()));
                          ctx.out.flush();
                        }};
  auto result = attach_session(*endpoint, config, std::move(options));
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
  return visit_stream_type(endpoint, [&]<typename S>(Tag<S>) {
    AttachSession<S> session(endpoint, std::move(options));
    return session.run(text);
  });
}

int run_execution(const Context& ctx, const ExecRequest& request) {
  const nlohmann::json exec_config = {{"container_id", request.container},
                                      {"cmd", request.cmd},
                                      {"env", request.env},
                                      {"user", request.user},
                                      {"tty", request.tty}};
  auto response = ctx.client.request({.method = boost::beast::http::verb::post,
                                      .target = "/exec/create",
                                      .body = exec_config.dump()});
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
