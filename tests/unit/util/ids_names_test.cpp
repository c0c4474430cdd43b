#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "util/ids.hpp"
#include "util/names.hpp"

namespace kleene {
namespace {

TEST(Ids, FormatIs12LowercaseHex) {
  for (int i = 0; i < 1000; ++i) {
    const std::string id = generate_id();
    ASSERT_EQ(id.size(), 12u);
    ASSERT_TRUE(std::all_of(id.begin(), id.end(), [](char c) {
      return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
    })) << id;
    ASSERT_TRUE(is_id(id)) << id;
  }
}

TEST(Ids, NeverAllDigits) {
  // An all-digit 12-hex string has probability (10/16)^12 ~ 0.36%: 20000 draws would
  // produce ~70 of them if generate_id did not reject them.
  for (int i = 0; i < 20000; ++i) {
    const std::string id = generate_id();
    ASSERT_FALSE(std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; }))
        << id;
  }
}

TEST(Ids, Unique) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i)
    seen.insert(generate_id());
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(Ids, IsId) {
  EXPECT_TRUE(is_id("0123456789ab"));
  EXPECT_FALSE(is_id("123456789012"));   // all digits
  EXPECT_FALSE(is_id("0123456789AB"));   // upper case
  EXPECT_FALSE(is_id("0123456789a"));    // short
  EXPECT_FALSE(is_id("0123456789abc"));  // long
  EXPECT_FALSE(is_id("0123456789ag"));
  EXPECT_FALSE(is_id(""));
}

TEST(Names, AdjectiveUnderscoreSurname) {
  std::set<std::string> seen;
  for (int i = 0; i < 500; ++i) {
    const std::string name = generate_name();
    const auto underscore = name.find('_');
    ASSERT_NE(underscore, std::string::npos) << name;
    EXPECT_EQ(name.find('_', underscore + 1), std::string::npos) << name;
    EXPECT_GT(underscore, 0u);
    EXPECT_LT(underscore + 1, name.size());
    EXPECT_TRUE(is_valid_name(name)) << name;
    seen.insert(name);
  }
  EXPECT_GT(seen.size(), 100u);  // 40 x 48 combinations
}

TEST(Names, Validity) {
  EXPECT_TRUE(is_valid_name("web"));
  EXPECT_TRUE(is_valid_name("a"));
  EXPECT_TRUE(is_valid_name("My_app-1.2"));
  EXPECT_TRUE(is_valid_name("0day"));
  EXPECT_TRUE(is_valid_name(std::string(kMaxNameLength, 'x')));
  EXPECT_FALSE(is_valid_name(std::string(kMaxNameLength + 1, 'x')));
  EXPECT_FALSE(is_valid_name(""));
  EXPECT_FALSE(is_valid_name("_web"));
  EXPECT_FALSE(is_valid_name(".web"));
  EXPECT_FALSE(is_valid_name("-web"));
  EXPECT_FALSE(is_valid_name("we b"));
  EXPECT_FALSE(is_valid_name("web/1"));
  EXPECT_FALSE(is_valid_name("web:1"));
  EXPECT_FALSE(is_valid_name("caf\xc3\xa9"));
}

}  // namespace
}  // namespace kleene
