#include "runtime/protocol.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace kleene::runtime::protocol {

Writer& Writer::u8(std::uint8_t v) {
  body_.push_back(static_cast<char>(v));
  return *this;
}

Writer& Writer::u16(std::uint16_t v) {
  u8(static_cast<std::uint8_t>(v & 0xff));
  return u8(static_cast<std::uint8_t>(v >> 8));
}

Writer& Writer::u32(std::uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8)
    u8(static_cast<std::uint8_t>((v >> shift) & 0xff));
  return *this;
}

Writer& Writer::i64(std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  u32(static_cast<std::uint32_t>(u & 0xffffffffu));
  return u32(static_cast<std::uint32_t>(u >> 32));
}

Writer& Writer::str(std::string_view s) {
  u32(static_cast<std::uint32_t>(s.size()));
  body_.append(s);
  return *this;
}

Writer& Writer::strs(const std::vector<std::string>& v) {
  u32(static_cast<std::uint32_t>(v.size()));
  for (const auto& s : v)
    str(s);
  return *this;
}

std::string Writer::frame() const {
  std::string out;
  out.reserve(body_.size() + 4);
  const auto n = static_cast<std::uint32_t>(body_.size());
  for (int shift = 0; shift < 32; shift += 8)
    out.push_back(static_cast<char>((n >> shift) & 0xff));
  out += body_;
  return out;
}

bool Reader::take(std::size_t n) {
  if (!ok_ || body_.size() - pos_ < n) {
    ok_ = false;
    return false;
  }
  return true;
}

Type Reader::type() {
  return static_cast<Type>(u8());
}

std::uint8_t Reader::u8() {
  if (!take(1)) return 0;
  return static_cast<std::uint8_t>(body_[pos_++]);
}

std::uint16_t Reader::u16() {
  const std::uint16_t lo = u8();
  const std::uint16_t hi = u8();
  return static_cast<std::uint16_t>(lo | (hi << 8));
}

std::uint32_t Reader::u32() {
  std::uint32_t v = 0;
  for (int shift = 0; shift < 32; shift += 8)
    v |= static_cast<std::uint32_t>(u8()) << shift;
  return v;
}

std::int64_t Reader::i64() {
  const std::uint64_t lo = u32();
  const std::uint64_t hi = u32();
  return static_cast<std::int64_t>(lo | (hi << 32));
}

std::string Reader::str() {
  const std::uint32_t n = u32();
  if (!take(n)) return {};
  std::string s(body_.substr(pos_, n));
  pos_ += n;
  return s;
}

std::vector<std::string> Reader::strs() {
  const std::uint32_t n = u32();
  std::vector<std::string> v;
  // Every string takes at least its 4-byte length: a bogus count fails before allocating.
  if (!take(std::size_t{n} * 4)) return v;
  v.reserve(n);
  for (std::uint32_t i = 0; i < n && ok_; ++i)
    v.push_back(str());
  return v;
}

Result<std::optional<std::string>> take_frame(std::string& buffer) {
  if (buffer.size() < 4) return std::nullopt;
  std::uint32_t n = 0;
  for (int i = 0; i < 4; ++i)
    n |= static_cast<std::uint32_t>(static_cast<unsigned char>(buffer[i])) << (8 * i);
  if (n > kMaxFrame) return make_error(EMSGSIZE, "keeper protocol: frame too large");
  if (buffer.size() - 4 < n) return std::nullopt;
  std::string body = buffer.substr(4, n);
  buffer.erase(0, std::size_t{n} + 4);
  return body;
}

namespace {

Result<void> read_exact(int fd, char* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, data + done, size - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n == 0) {
      return make_error(EPIPE, "keeper protocol: connection closed");
    } else if (errno != EINTR) {
      return errno_error("keeper protocol: read");
    }
  }
  return {};
}

}  // namespace

Result<std::string> read_frame(int fd) {
  unsigned char header[4];
  TRY(read_exact(fd, reinterpret_cast<char*>(header), sizeof header));
  const std::uint32_t n = header[0] | (header[1] << 8) | (header[2] << 16) |
                          (static_cast<std::uint32_t>(header[3]) << 24);
  if (n > kMaxFrame) return make_error(EMSGSIZE, "keeper protocol: frame too large");
  std::string body(n, '\0');
  TRY(read_exact(fd, body.data(), n));
  return body;
}

Result<void> write_all(int fd, std::string_view bytes) {
  struct stat st {};
  const bool socket = ::fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode);
  while (!bytes.empty()) {
    const ssize_t n = socket ? ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL)
                             : ::write(fd, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("keeper protocol: write");
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

void put(Writer& w, const JailParams& p) {
  w.u8(p.devfs).u8(p.clean_env).str(p.jail_user).str(p.hostname);
  w.u8(p.raw_sockets).u8(p.sysvipc).u8(p.mlock).u8(p.chflags).u8(p.persist);
  w.strs(p.exec_start).strs(p.exec_stop).strs(p.exec_prestart).strs(p.exec_poststop);
}

JailParams get_params(Reader& r) {
  JailParams p;
  p.devfs = r.u8() != 0;
  p.clean_env = r.u8() != 0;
  p.jail_user = r.str();
  p.hostname = r.str();
  p.raw_sockets = r.u8() != 0;
  p.sysvipc = r.u8() != 0;
  p.mlock = r.u8() != 0;
  p.chflags = r.u8() != 0;
  p.persist = r.u8() != 0;
  p.exec_start = r.strs();
  p.exec_stop = r.strs();
  p.exec_prestart = r.strs();
  p.exec_poststop = r.strs();
  return p;
}

void put(Writer& w, const ProcessSpec& p) {
  w.str(p.exec_id).strs(p.argv).strs(p.env).str(p.user).str(p.workdir).u8(p.tty);
}

ProcessSpec get_process(Reader& r) {
  ProcessSpec p;
  p.exec_id = r.str();
  p.argv = r.strs();
  p.env = r.strs();
  p.user = r.str();
  p.workdir = r.str();
  p.tty = r.u8() != 0;
  return p;
}

void put(Writer& w, const ContainerSpec& s) {
  w.str(s.id).str(s.rootfs.string()).str(s.hostname);
  w.u32(static_cast<std::uint32_t>(s.mounts.size()));
  for (const auto& m : s.mounts)
    w.str(m.source.string()).str(m.destination).u8(m.read_only);
  put(w, s.params);
  w.u8(s.own_network).i32(s.pids_limit);
}

ContainerSpec get_container(Reader& r) {
  ContainerSpec s;
  s.id = r.str();
  s.rootfs = r.str();
  s.hostname = r.str();
  const std::uint32_t mounts = r.u32();
  for (std::uint32_t i = 0; i < mounts && r.ok(); ++i) {
    MountSpec m;
    m.source = r.str();
    m.destination = r.str();
    m.read_only = r.u8() != 0;
    s.mounts.push_back(std::move(m));
  }
  s.params = get_params(r);
  s.own_network = r.u8() != 0;
  s.pids_limit = r.i32();
  return s;
}

std::string encode_start(const StartRequest& request) {
  Writer w(kStart);
  put(w, request.spec);
  w.str(request.run_dir).str(request.cgroup_root);
  return w.frame();
}

Result<StartRequest> decode_start(std::string_view body) {
  Reader r(body);
  if (r.type() != kStart) return make_error(EPROTO, "keeper protocol: expected a start frame");
  StartRequest request;
  request.spec = get_container(r);
  request.run_dir = r.str();
  request.cgroup_root = r.str();
  if (!r.at_end()) return make_error(EPROTO, "keeper protocol: malformed start frame");
  return request;
}

std::string encode_error(const Error& error) {
  return Writer(kError).i32(error.code).str(error.message).frame();
}

Error decode_error(Reader& r) {
  Error e;
  e.code = r.i32();
  e.message = r.str();
  if (!r.ok()) return Error{EPROTO, "keeper protocol: malformed error frame"};
  return e;
}

}  // namespace kleene::runtime::protocol
