#include <gtest/gtest.h>

#include "transport/host_url.hpp"

namespace klee {
namespace {

TEST(HostUrl, UnixSocketForms) {
  auto url = parse_host_url("http:///var/run/kleened.sock");
  ASSERT_TRUE(url) << url.error().message;
  EXPECT_TRUE(url->unix_socket);
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->path, "/var/run/kleened.sock");
  EXPECT_EQ(url->authority(), "localhost");

  url = parse_host_url("https:///tmp/k.sock");
  ASSERT_TRUE(url);
  EXPECT_TRUE(url->unix_socket);
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->to_string(), "https:///tmp/k.sock");

  url = parse_host_url("/run/kleened.sock");  // bare path shorthand
  ASSERT_TRUE(url);
  EXPECT_TRUE(url->unix_socket);
  EXPECT_FALSE(url->tls);
}

TEST(HostUrl, TcpForms) {
  auto url = parse_host_url("http://127.0.0.1:8085");
  ASSERT_TRUE(url);
  EXPECT_FALSE(url->unix_socket);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8085);
  EXPECT_EQ(url->authority(), "127.0.0.1");

  url = parse_host_url("https://[::1]:443");
  ASSERT_TRUE(url);
  EXPECT_TRUE(url->tls);
  EXPECT_TRUE(url->ipv6);
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->authority(), "[::1]");
  EXPECT_EQ(url->to_string(), "https://[::1]:443");

  url = parse_host_url("http://kleene.example");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->port, 80);
  url = parse_host_url("https://[fe80::1]");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->port, 443);
}

TEST(HostUrl, RejectsBadForms) {
  for (const char* bad : {"", "kleened.sock", "http://", "http:///", "http://127.0.0.1:",
                          "http://127.0.0.1:0", "http://127.0.0.1:70000", "http://127.0.0.1:80x",
                          "http://::1:8080", "http://[::1", "http://[::1]8080", "http://[]:80",
                          "http://127.0.0.1:80/path", "http:///x.sock?a=1", "http://:80"}) {
    auto url = parse_host_url(bad);
    ASSERT_FALSE(url) << bad;
    EXPECT_EQ(url.error().code, EINVAL) << bad;
  }
}

TEST(HostUrl, UnsupportedSchemeUsesKleeneWording) {
  auto url = parse_host_url("htyp:///var/sock");
  ASSERT_FALSE(url);
  EXPECT_EQ(url.error().message, "Request URL has an unsupported protocol 'htyp://'.");
}

}  // namespace
}  // namespace klee
