#include <gtest/gtest.h>

#include "container/hosts_file.hpp"

namespace kleene::container::hosts {
namespace {

const std::string kPrologue =
    "# written by kleened; changes are overwritten\n"
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n";

TEST(HostsRender, OnlyLoopbackWhenEmpty) {
  EXPECT_EQ(render({}, {}), kPrologue);
}

TEST(HostsRender, SelfInOrderThenPeersSorted) {
  const std::vector<Entry> self{{"10.0.0.9", {"web", "web.kleene"}}, {"10.0.0.3", {"abc123"}}};
  const std::vector<Entry> peers{{"10.0.0.10", {"db"}},
                                 {"fd00::2", {"cache"}},
                                 {"10.0.0.2", {"zeta"}},
                                 {"10.0.0.2", {"alpha"}}};
  EXPECT_EQ(render(self, peers), kPrologue +
                                     "10.0.0.9\tweb web.kleene\n"
                                     "10.0.0.3\tabc123\n"
                                     "10.0.0.2\talpha\n"
                                     "10.0.0.2\tzeta\n"
                                     "10.0.0.10\tdb\n"
                                     "fd00::2\tcache\n");
}

TEST(HostsRender, PeerOrderDoesNotMatter) {
  const std::vector<Entry> a{{"172.17.0.3", {"b"}}, {"172.17.0.2", {"a"}}, {"fd00::1", {"c"}}};
  const std::vector<Entry> b{{"fd00::1", {"c"}}, {"172.17.0.2", {"a"}}, {"172.17.0.3", {"b"}}};
  EXPECT_EQ(render({}, a), render({}, b));
}

TEST(HostsRender, Ipv6WrittenCanonically) {
  EXPECT_EQ(render({{"FD00:0:0:0:0:0:0:0001", {"six"}}}, {{"2001:db8::a", {"peer"}}}),
            kPrologue +
                "fd00::1\tsix\n"
                "2001:db8::a\tpeer\n");
}

TEST(HostsRender, HostileNamesAreDropped) {
  const std::vector<Entry> peers{
      {"10.0.0.2", {"a b", "x\nevil", "$(id)", "ok_name", "tab\there", "semi;colon"}},
      {"10.0.0.3", {"x\n10.6.6.6 bank.example"}},
      {"10.0.0.4", {"-leading", "trailing-", "a..b", ".dot", "dot.", ""}},
      {"10.0.0.5", {std::string(64, 'a'), std::string(63, 'a')}},
  };
  EXPECT_EQ(render({}, peers), kPrologue +
                                   "10.0.0.2\tok_name\n"
                                   "10.0.0.5\t" +
                                   std::string(63, 'a') + "\n");
}

TEST(HostsRender, InvalidAddressesAreSkipped) {
  const std::vector<Entry> peers{
      {"10.0.0.256", {"a"}},  {"10.0.0", {"b"}},     {"fe80::1%eth0", {"c"}},
      {"10.0.0.0/24", {"d"}}, {"", {"e"}},           {"10.0.0.1\n1.2.3.4", {"f"}},
      {" 10.0.0.1", {"g"}},   {"10.0.0.7", {"kept"}}};
  EXPECT_EQ(render({}, peers), kPrologue + "10.0.0.7\tkept\n");
}

TEST(HostsRender, DuplicatesRemoved) {
  const std::vector<Entry> self{{"10.0.0.2", {"me", "me", "alias"}}, {"10.0.0.2", {"me", "alias"}}};
  const std::vector<Entry> peers{{"10.0.0.3", {"other"}},
                                 {"10.0.0.3", {"other"}},
                                 {"10.0.0.2", {"me", "alias"}},
                                 {"10.0.0.3", {"other", "other"}}};
  EXPECT_EQ(render(self, peers), kPrologue +
                                     "10.0.0.2\tme alias\n"
                                     "10.0.0.3\tother\n");
}

TEST(HostsRender, LongestValidName) {
  // 4 labels of 63 + 3 dots = 255 > 253; 3 labels of 63 + 61 + 3 dots = 253.
  const std::string label(63, 'x');
  const std::string max = label + "." + label + "." + label + "." + std::string(61, 'y');
  ASSERT_EQ(max.size(), 253U);
  EXPECT_TRUE(is_valid_hostname(max));
  EXPECT_FALSE(is_valid_hostname(max + "y"));
}

TEST(HostsRender, Validators) {
  EXPECT_TRUE(is_valid_hostname("a"));
  EXPECT_TRUE(is_valid_hostname("my_container.net-1"));
  EXPECT_TRUE(is_valid_hostname("123"));
  EXPECT_FALSE(is_valid_hostname("a/b"));
  EXPECT_FALSE(is_valid_hostname("é"));
  EXPECT_FALSE(is_valid_hostname(std::string_view("a\0b", 3)));
  EXPECT_TRUE(is_valid_address("127.0.0.1"));
  EXPECT_TRUE(is_valid_address("::"));
  EXPECT_FALSE(is_valid_address("localhost"));
  EXPECT_FALSE(is_valid_address(std::string_view("1.2.3.4\0x", 9)));
}

}  // namespace
}  // namespace kleene::container::hosts
