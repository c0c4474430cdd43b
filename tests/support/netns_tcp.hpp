// TCP between network namespaces a test created, for the tests of the netlink library and of
// the network drivers: a listener inside one namespace, a bounded connect from another.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>

#include "network/netlink.hpp"
#include "util/error.hpp"
#include "util/unique_fd.hpp"

namespace kleene::test {

// `address:port` of `family` as a sockaddr for bind/connect.
inline std::pair<sockaddr_storage, socklen_t> socket_address(int family, const std::string& address,
                                                             int port) {
  sockaddr_storage ss{};
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, address.c_str(), &sin->sin_addr);
    return {ss, sizeof(sockaddr_in)};
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET6, address.c_str(), &sin6->sin6_addr);
  return {ss, sizeof(sockaddr_in6)};
}

// A TCP listener on `address:port` inside `netns` (the socket stays in that namespace).
inline Result<UniqueFd> listen_in(int netns, int family, const std::string& address, int port) {
  return network::netlink::in_netns(netns, [&]() -> Result<UniqueFd> {
    UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return errno_error("socket");
    const int one = 1;
    (void)setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    const auto [ss, len] = socket_address(family, address, port);
    if (::bind(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
      return errno_error("bind " + address);
    }
    if (::listen(fd.get(), 4) != 0) return errno_error("listen");
    return fd;
  });
}

// Connect from inside `netns` to `address:port`, send a line, read the echo of the peer.
inline Result<void> connect_from(int netns, int family, const std::string& address, int port) {
  return network::netlink::in_netns(netns, [&]() -> Result<void> {
    UniqueFd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return errno_error("socket");
    // Bounded wait: an unreachable peer fails the test instead of hanging it.
    timeval tv{5, 0};
    (void)setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    const auto [ss, len] = socket_address(family, address, port);
    if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
      return errno_error("connect " + address);
    }
    if (::write(fd.get(), "ping", 4) != 4) return errno_error("write");
    return {};
  });
}

// Accept one connection on `listener` and read what the client sent.
inline std::string accept_one(int listener) {
  UniqueFd conn(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return "accept failed";
  char buf[16] = {};
  const auto n = ::read(conn.get(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "read failed";
}

// TCP from namespace `client` to `address:port` in namespace `server` (a listener there):
// the connection arrives and carries "ping". Fatal failures return from this function only.
inline void expect_tcp(int server, int client, int family, const std::string& address, int port) {
  SCOPED_TRACE(address);
  auto listener = listen_in(server, family, address, port);
  ASSERT_TRUE(listener) << "listen on " << address << ": " << listener.error().message;
  auto connected = connect_from(client, family, address, port);
  ASSERT_TRUE(connected) << "connect to " << address << ": " << connected.error().message;
  EXPECT_EQ(accept_one(listener->get()), "ping");
}

// fds of this process that refer to a network namespace (a test that leaks one leaks the
// namespace).
inline int netns_fds() {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(entry.path(), ec);
    if (!ec && target.string().starts_with("net:[")) ++count;
  }
  return count;
}

}  // namespace kleene::test
