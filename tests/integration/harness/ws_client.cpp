#include "ws_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>
#include <system_error>

#include "http_client.hpp"

namespace kleene::it {

namespace {

void write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "websocket send");
    }
    done += static_cast<std::size_t>(n);
  }
}

}  // namespace

std::string WsClient::Outcome::output() const {
  std::string out;
  for (std::size_t i = 1; i < frames.size(); ++i)
    out += frames[i].data;
  return out;
}

WsClient::WsClient(const std::string& socket_path, const std::string& target)
    : fd_(connect_unix(socket_path)) {
  write_all(fd_.get(), "GET " + target +
                           " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                           "Connection: Upgrade\r\nSec-WebSocket-Key: "
                           "dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::size_t end = std::string::npos;
  while ((end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill(buffer_.size() + 1, deadline)) throw std::runtime_error("no websocket handshake");
  }
  const std::string head = buffer_.substr(0, end);
  buffer_.erase(0, end + 4);
  if (head.rfind("HTTP/1.1 101", 0) != 0)
    throw std::runtime_error("websocket upgrade refused: " + head);
}

bool WsClient::fill(std::size_t bytes, std::chrono::steady_clock::time_point deadline) {
  while (buffer_.size() < bytes) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_.get(), POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return false;
    char chunk[65536];
    const ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
  return true;
}

void WsClient::send(int opcode, const std::string& payload) {
  std::string frame;
  frame.push_back(static_cast<char>(0x80 | opcode));
  const std::size_t n = payload.size();
  if (n < 126) {
    frame.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xffff) {
    frame.push_back(static_cast<char>(0x80 | 126));
    frame.push_back(static_cast<char>(n >> 8));
    frame.push_back(static_cast<char>(n & 0xff));
  } else {
    frame.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8)
      frame.push_back(static_cast<char>((n >> shift) & 0xff));
  }
  const char mask[4] = {0x12, 0x34, 0x56, 0x78};
  frame.append(mask, 4);
  for (std::size_t i = 0; i < n; ++i)
    frame.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  write_all(fd_.get(), frame);
}

void WsClient::send_close(uint16_t code) {
  send(8, std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)});
}

std::optional<WsClient::Frame> WsClient::next(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  Frame message;
  for (;;) {
    if (!fill(2, deadline)) return std::nullopt;
    const auto b0 = static_cast<unsigned char>(buffer_[0]);
    const auto b1 = static_cast<unsigned char>(buffer_[1]);
    std::size_t header = 2;
    std::uint64_t length = b1 & 0x7f;
    if (length == 126) {
      if (!fill(4, deadline)) return std::nullopt;
      length =
          (static_cast<unsigned char>(buffer_[2]) << 8) | static_cast<unsigned char>(buffer_[3]);
      header = 4;
    } else if (length == 127) {
      if (!fill(10, deadline)) return std::nullopt;
      length = 0;
      for (int i = 2; i < 10; ++i)
        length = (length << 8) | static_cast<unsigned char>(buffer_[i]);
      header = 10;
    }
    if (b1 & 0x80) throw std::runtime_error("server frames must not be masked");
    if (!fill(header + length, deadline)) return std::nullopt;
    std::string payload = buffer_.substr(header, length);
    buffer_.erase(0, header + length);
    const int opcode = b0 & 0x0f;
    if (opcode == 9) {  // ping
      send(10, payload);
      continue;
    }
    if (opcode == 10) continue;
    if (opcode != 0) message.opcode = opcode;
    message.data += payload;
    if (b0 & 0x80) return message;
  }
}

WsClient::Outcome WsClient::finish(std::chrono::milliseconds timeout) {
  Outcome outcome;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    auto frame = next(std::max(left, std::chrono::milliseconds(1)));
    if (!frame) return outcome;
    if (frame->opcode == 8) {
      if (frame->data.size() >= 2) {
        outcome.close_code = (static_cast<unsigned char>(frame->data[0]) << 8) |
                             static_cast<unsigned char>(frame->data[1]);
        outcome.close_reason = frame->data.substr(2);
      }
      if (!closed_) {
        try {
          send_close(static_cast<uint16_t>(outcome.close_code ? outcome.close_code : 1000));
        } catch (const std::exception&) {
        }
        closed_ = true;
      }
      return outcome;
    }
    outcome.frames.push_back(std::move(*frame));
  }
}

WsClient::Outcome WsClient::run(const std::string& socket_path, const std::string& target,
                                const std::string& config) {
  WsClient client(socket_path, target);
  client.send_text(config);
  return client.finish();
}

}  // namespace kleene::it
