#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "process.hpp"

namespace kleene::it {

// A minimal WebSocket client (RFC 6455) over a unix socket, for driving kleened's WebSocket
// endpoints without depending on the klee under test. Throws on protocol or I/O errors.
class WsClient {
 public:
  struct Frame {
    int opcode = 0;  // 1 text, 2 binary, 8 close
    std::string data;
  };
  struct Outcome {
    std::vector<Frame> frames;  // data frames before the close
    int close_code = 0;         // 0: the connection ended without a Close frame
    std::string close_reason;
    std::string output() const;  // data frames after the first (the `starting` message)
  };

  // Connects and upgrades `target` (e.g. "/exec/start"); throws unless the answer is 101.
  WsClient(const std::string& socket_path, const std::string& target);

  void send_text(const std::string& data) { send(1, data); }
  void send_binary(const std::string& data) { send(2, data); }
  void send_close(uint16_t code = 1000);
  // The next frame (pings are answered and skipped); nullopt at EOF or after `timeout`.
  std::optional<Frame> next(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Frames until the server's Close (answered), EOF or `timeout`.
  Outcome finish(std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // Send `config` as the first frame and run to the end.
  static Outcome run(const std::string& socket_path, const std::string& target,
                     const std::string& config);

 private:
  void send(int opcode, const std::string& payload);
  bool fill(std::size_t bytes, std::chrono::steady_clock::time_point deadline);

  UniqueFd fd_;
  std::string buffer_;
  bool closed_ = false;
};

}  // namespace kleene::it
