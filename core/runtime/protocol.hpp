// The keeper protocol: what kleened (runtime.cpp) and a keeper (keeper/) say to each other over
// the keeper's unix socket and over the start-up socketpair. Frames are length-prefixed binary
// records: u32 little-endian body length, then the body (a one-byte type and its fields).
// Integers are little-endian, strings are a u32 length and the bytes. No JSON here: the keeper
// is a small static binary and this code is linked into it.
//
// One connection per request. The first frame is the request; the keeper answers with one
// frame (kOk, kError or kStateReply; kOk to kExec carries the init's pid, i32). An attached exec
// then streams kOutput frames and one kExit from the keeper, and takes kStdin, kCloseStdin and
// kResize frames from kleened.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/spec.hpp"
#include "util/error.hpp"

namespace kleene::runtime::protocol {

enum Type : std::uint8_t {
  // start-up (kleened -> keeper, on the socketpair): the container and where to keep it
  kStart = 'C',
  // requests (kleened -> keeper)
  kState = 's',
  kExec = 'e',
  kStopExec = 'x',
  kStop = 't',
  kUpdate = 'u',
  // attached exec stream (kleened -> keeper)
  kStdin = 'i',
  kCloseStdin = 'c',
  kResize = 'w',
  // answers (keeper -> kleened)
  kOk = 'o',
  kError = 'r',
  kStateReply = 'S',
  kOutput = 'd',
  kExit = 'z',
};

inline constexpr std::uint32_t kMaxFrame = 16u * 1024 * 1024;

// Appends fields to a frame body; frame() gives the bytes to send (length prefix included).
class Writer {
 public:
  explicit Writer(Type type) { body_.push_back(static_cast<char>(type)); }
  Writer& u8(std::uint8_t v);
  Writer& u16(std::uint16_t v);
  Writer& u32(std::uint32_t v);
  Writer& i32(std::int32_t v) { return u32(static_cast<std::uint32_t>(v)); }
  Writer& i64(std::int64_t v);
  Writer& str(std::string_view s);
  Writer& strs(const std::vector<std::string>& v);
  [[nodiscard]] std::string frame() const;

 private:
  std::string body_;
};

// Reads fields of a frame body; a short or malformed body sets ok() to false (values are then
// zero/empty), so a decoder checks once at the end.
class Reader {
 public:
  explicit Reader(std::string_view body) : body_(body) {}
  [[nodiscard]] Type type();
  std::uint8_t u8();
  std::uint16_t u16();
  std::uint32_t u32();
  std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
  std::int64_t i64();
  std::string str();
  std::vector<std::string> strs();
  [[nodiscard]] bool ok() const { return ok_; }
  [[nodiscard]] bool at_end() const { return ok_ && pos_ == body_.size(); }

 private:
  bool take(std::size_t n);
  std::string_view body_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// Splits complete frames off the front of a byte buffer (non-blocking readers).
// Returns the body of the first complete frame and removes it, nullopt if incomplete;
// EMSGSIZE when the announced length exceeds kMaxFrame.
Result<std::optional<std::string>> take_frame(std::string& buffer);

// Blocking frame I/O on a stream socket or pipe (EINTR retried, SIGPIPE never raised on
// sockets). read_frame: EPIPE on end of file before a complete frame.
Result<std::string> read_frame(int fd);
Result<void> write_all(int fd, std::string_view bytes);

// Field groups shared by both sides.
void put(Writer& w, const JailParams& p);
JailParams get_params(Reader& r);
void put(Writer& w, const ProcessSpec& p);
ProcessSpec get_process(Reader& r);
void put(Writer& w, const ContainerSpec& s);
ContainerSpec get_container(Reader& r);

// The start-up frame: the container plus the keeper's run directory and cgroup root.
struct StartRequest {
  ContainerSpec spec;
  std::string run_dir;      // <run_dir>/containers/<id>
  std::string cgroup_root;  // e.g. /sys/fs/cgroup
};
std::string encode_start(const StartRequest& request);
Result<StartRequest> decode_start(std::string_view body);

// kError frames carry an Error; kStateReply carries the state fields.
std::string encode_error(const Error& error);
Error decode_error(Reader& r);

}  // namespace kleene::runtime::protocol
