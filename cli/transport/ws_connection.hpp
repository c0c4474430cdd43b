// Internal to klee: the connection of one Kleene WebSocket session, shared by ws_session
// (transport/ws_client.cpp), the attached /exec/start session (commands/exec_attach.cpp) and
// the /images/build session (commands/image_build.cpp): connect and upgrade, send the config
// frame and read the answer, loop over the output frames, and turn the end of the connection
// into its Close code and reason. What a session does with stdin, signals and the terminal is
// its own.
//
// Beast's WebSocket stream is a template over the stream type (unix/TCP, plain/TLS). It is
// instantiated once, in ws_connection.cpp, behind this class: each session that used it
// directly compiled all four again (minutes of compile time per build, for the same code).
#pragma once

#include <fcntl.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/system/error_code.hpp>

#include "transport/close_reason.hpp"
#include "transport/endpoint.hpp"
#include "transport/http_client.hpp"
#include "util/error.hpp"

namespace klee::transport {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

// Reads stdin through a duplicate so asio may make it non-blocking, and puts the shared
// file status flags back afterwards (the shell owns that terminal).
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

// How a session's connection ended with a Close frame.
struct WsClose {
  unsigned code = 0;
  std::string raw_reason;
  WsMessage reason;  // raw_reason, parsed
};

class WsConnection {
 public:
  // The WebSocket stream of the endpoint's type (ws_connection.cpp).
  class Stream;

  explicit WsConnection(const Endpoint& endpoint);
  ~WsConnection();
  WsConnection(const WsConnection&) = delete;
  WsConnection& operator=(const WsConnection&) = delete;

  asio::io_context& ioc() { return ioc_; }
  asio::signal_set& signals() { return signals_; }

  // Connects (unless a request() did already) and upgrades to `target` (klee's User-Agent,
  // `handshake_timeout` until the server answers, none afterwards). A declined upgrade is an
  // error with the server's message.
  kleene::Result<void> connect(std::string_view target,
                               std::chrono::milliseconds handshake_timeout);

  // One HTTP/1.1 request before the upgrade, on the connection (made first if need be). After
  // it, reusable() says whether the server keeps the connection open for more.
  kleene::Result<HttpResponse> request(const HttpRequest& request);
  [[nodiscard]] bool reusable() const { return reusable_; }

  // Sends `config` as a text frame and reads the server's first frame into `first`. An error
  // code when the connection ended before (close() says how).
  // `after_config` runs between the two (a build context upload sends its frames there).
  error_code start(std::string_view config, std::string& first,
                   const std::function<error_code()>& after_config = {});

  // One binary frame, written before anything is read (a build context upload).
  error_code send_binary(std::string_view data);

  // Writes one frame (text or binary) while the loop runs; `done` gets the outcome. `data` must
  // stay alive until then, and one write at a time.
  void async_write(std::string_view data, bool binary, std::function<void(error_code)> done);

  // Closes with 1000 and `reason` while the loop runs (the server's answer ends read_frames).
  void async_close_normal(std::string_view reason);

  // stdin_fd for the session to read, through a StdinReader; null when it cannot be read.
  asio::posix::stream_descriptor* open_stdin(int stdin_fd) {
    stdin_.emplace(ioc_, stdin_fd);
    return stdin_->get();
  }
  asio::posix::stream_descriptor* stdin_descriptor() { return stdin_ ? stdin_->get() : nullptr; }

  // Hands each frame to `on_frame` until the connection ends; then cancels the signal and
  // stdin waits and stops the loop (the session is over; nothing else left running matters).
  void read_frames(std::function<void(std::string)> on_frame);

  // Runs the session's asynchronous work; returns why the connection ended.
  error_code run() {
    ioc_.restart();
    ioc_.run();
    return read_error_;
  }

  // Whether the connection ended with a Close frame (`ec` from run() or start()).
  static bool closed(const error_code& ec);

  // The Close that ended the connection with `ec`, or the error when it ended without one.
  kleene::Result<WsClose> close(const error_code& ec) const;

 private:
  void read_next();
  kleene::Result<void> open();

  asio::io_context ioc_;  // first: the stream and the waits below are destroyed before it
  asio::signal_set signals_;
  std::optional<StdinReader> stdin_;
  std::unique_ptr<Stream> stream_;
  std::function<void(std::string)> on_frame_;
  error_code read_error_;
  bool open_ = false;  // connected (and the TLS handshake done)
  bool reusable_ = false;
};

}  // namespace klee::transport
