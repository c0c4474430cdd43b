#include "runtime/protocol.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/unique_fd.hpp"

namespace kleene::runtime::protocol {
namespace {

std::string body_of(const std::string& frame) {
  std::string buffer = frame;
  auto body = take_frame(buffer);
  EXPECT_TRUE(body && *body);
  EXPECT_TRUE(buffer.empty());
  return body && *body ? **body : std::string();
}

TEST(KeeperProtocol, ScalarsAndStringsRoundTrip) {
  const std::string frame = Writer(kExit)
                                .u8(7)
                                .u16(65535)
                                .u32(0xdeadbeef)
                                .i32(-3)
                                .i64(-1234567890123LL)
                                .str(std::string("a\0b", 3))
                                .strs({"x", "", "yz"})
                                .frame();
  std::string body = body_of(frame);
  Reader r(body);
  EXPECT_EQ(r.type(), kExit);
  EXPECT_EQ(r.u8(), 7);
  EXPECT_EQ(r.u16(), 65535);
  EXPECT_EQ(r.u32(), 0xdeadbeefu);
  EXPECT_EQ(r.i32(), -3);
  EXPECT_EQ(r.i64(), -1234567890123LL);
  EXPECT_EQ(r.str(), std::string("a\0b", 3));
  EXPECT_EQ(r.strs(), (std::vector<std::string>{"x", "", "yz"}));
  EXPECT_TRUE(r.at_end());
}

TEST(KeeperProtocol, ShortBodyFailsWithoutThrowing) {
  std::string body = Writer(kOutput).str("hello").frame().substr(4);
  body.resize(body.size() - 2);
  Reader r(body);
  EXPECT_EQ(r.type(), kOutput);
  EXPECT_EQ(r.str(), "");
  EXPECT_FALSE(r.ok());
}

TEST(KeeperProtocol, BogusVectorCountDoesNotAllocate) {
  std::string body = Writer(kExec).u32(0xffffffff).frame().substr(4);
  Reader r(body);
  (void)r.type();
  EXPECT_TRUE(r.strs().empty());
  EXPECT_FALSE(r.ok());
}

TEST(KeeperProtocol, TakeFrameWaitsForCompleteFrames) {
  const std::string a = Writer(kStdin).str("one").frame();
  const std::string b = Writer(kCloseStdin).frame();
  std::string buffer = a + b.substr(0, 2);
  auto first = take_frame(buffer);
  ASSERT_TRUE(first && *first);
  EXPECT_EQ(buffer, b.substr(0, 2));
  auto none = take_frame(buffer);
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
  buffer += b.substr(2);
  auto second = take_frame(buffer);
  ASSERT_TRUE(second && *second);
  EXPECT_EQ(Reader(**second).type(), kCloseStdin);
}

TEST(KeeperProtocol, OversizedFrameIsRejected) {
  std::string buffer("\xff\xff\xff\x7f", 4);
  auto frame = take_frame(buffer);
  ASSERT_FALSE(frame);
  EXPECT_EQ(frame.error().code, EMSGSIZE);
}

TEST(KeeperProtocol, ContainerSpecRoundTrip) {
  StartRequest request;
  request.spec.id = "abc123";
  request.spec.rootfs = "/zroot/kleene/container/abc123";
  request.spec.hostname = "web";
  request.spec.mounts = {{"/host/dir", "/data", true}, {"/vol", "/v", false}};
  request.spec.params.devfs = false;
  request.spec.params.clean_env = false;
  request.spec.params.jail_user = "nobody";
  request.spec.params.raw_sockets = true;
  request.spec.params.persist = true;
  request.spec.params.exec_start = {"echo hi", "touch /x"};
  request.spec.params.exec_poststop = {"logger done"};
  request.spec.own_network = false;
  request.spec.pids_limit = 77;
  request.run_dir = "/var/run/kleened/containers/abc123";
  request.cgroup_root = "/sys/fs/cgroup";
  auto decoded = decode_start(body_of(encode_start(request)));
  ASSERT_TRUE(decoded) << decoded.error().message;
  const auto& s = decoded->spec;
  EXPECT_EQ(s.id, "abc123");
  EXPECT_EQ(s.rootfs, "/zroot/kleene/container/abc123");
  EXPECT_EQ(s.hostname, "web");
  ASSERT_EQ(s.mounts.size(), 2u);
  EXPECT_EQ(s.mounts[0].source, "/host/dir");
  EXPECT_EQ(s.mounts[0].destination, "/data");
  EXPECT_TRUE(s.mounts[0].read_only);
  EXPECT_FALSE(s.mounts[1].read_only);
  EXPECT_FALSE(s.params.devfs);
  EXPECT_FALSE(s.params.clean_env);
  EXPECT_EQ(s.params.jail_user, "nobody");
  EXPECT_TRUE(s.params.raw_sockets);
  EXPECT_FALSE(s.params.sysvipc);
  EXPECT_TRUE(s.params.persist);
  EXPECT_EQ(s.params.exec_start, request.spec.params.exec_start);
  EXPECT_EQ(s.params.exec_poststop, request.spec.params.exec_poststop);
  EXPECT_FALSE(s.own_network);
  EXPECT_EQ(s.pids_limit, 77);
  EXPECT_EQ(decoded->run_dir, request.run_dir);
  EXPECT_EQ(decoded->cgroup_root, request.cgroup_root);
}

TEST(KeeperProtocol, TruncatedStartFrameIsAnError) {
  StartRequest request;
  request.spec.id = "x";
  std::string body = body_of(encode_start(request));
  body.pop_back();
  auto decoded = decode_start(body);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, EPROTO);
}

TEST(KeeperProtocol, ProcessSpecRoundTrip) {
  ProcessSpec p;
  p.exec_id = "e1";
  p.argv = {"/bin/sh", "-c", "echo $X"};
  p.env = {"X=1", "PATH=/bin"};
  p.user = "nobody:nogroup";
  p.workdir = "/tmp";
  p.tty = true;
  Writer w(kExec);
  put(w, p);
  w.u8(1);
  std::string body = body_of(w.frame());
  Reader r(body);
  EXPECT_EQ(r.type(), kExec);
  ProcessSpec q = get_process(r);
  EXPECT_EQ(r.u8(), 1);
  EXPECT_TRUE(r.at_end());
  EXPECT_EQ(q.exec_id, p.exec_id);
  EXPECT_EQ(q.argv, p.argv);
  EXPECT_EQ(q.env, p.env);
  EXPECT_EQ(q.user, p.user);
  EXPECT_EQ(q.workdir, p.workdir);
  EXPECT_TRUE(q.tty);
}

TEST(KeeperProtocol, ErrorFrameRoundTrip) {
  std::string body = body_of(encode_error(Error{ENOENT, "container x is not running"}));
  Reader r(body);
  EXPECT_EQ(r.type(), kError);
  Error e = decode_error(r);
  EXPECT_EQ(e.code, ENOENT);
  EXPECT_EQ(e.message, "container x is not running");
}

TEST(KeeperProtocol, BlockingFrameIoOverASocket) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  UniqueFd a(pair[0]), b(pair[1]);
  const std::string big(200000, 'x');
  ASSERT_TRUE(write_all(a.get(), Writer(kOutput).str("hi").frame()));
  auto body = read_frame(b.get());
  ASSERT_TRUE(body);
  Reader r(*body);
  EXPECT_EQ(r.type(), kOutput);
  EXPECT_EQ(r.str(), "hi");
  a.reset();
  auto eof = read_frame(b.get());
  ASSERT_FALSE(eof);
  EXPECT_EQ(eof.error().code, EPIPE);
}

}  // namespace
}  // namespace kleene::runtime::protocol
