#include "util/resolve.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace kleene {
namespace {

const std::vector<Candidate> kCandidates = {
    {"ab12cd34ef56", "web"},
    {"ab34cd56ef78", "db"},
    {"f00dfeedbeef", "ab12"},  // a name that is also a prefix of another's id
    {"c0ffee000001", ""},
};

TEST(Resolve, FullId) {
  EXPECT_EQ(resolve_index("ab34cd56ef78", kCandidates).value(), 1u);
  EXPECT_EQ(resolve_id("c0ffee000001", kCandidates).value(), "c0ffee000001");
}

TEST(Resolve, ExactName) {
  EXPECT_EQ(resolve_id("web", kCandidates).value(), "ab12cd34ef56");
  EXPECT_EQ(resolve_id("db", kCandidates).value(), "ab34cd56ef78");
}

TEST(Resolve, NameBeatsIdPrefix) {
  EXPECT_EQ(resolve_id("ab12", kCandidates).value(), "f00dfeedbeef");
}

TEST(Resolve, UniquePrefix) {
  EXPECT_EQ(resolve_id("ab3", kCandidates).value(), "ab34cd56ef78");
  EXPECT_EQ(resolve_id("f", kCandidates).value(), "f00dfeedbeef");
  EXPECT_EQ(resolve_id("c0ffee", kCandidates).value(), "c0ffee000001");
}

TEST(Resolve, AmbiguousPrefixListsCandidates) {
  const auto r = resolve_id("ab", kCandidates, "container");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, kErrAmbiguous);
  EXPECT_EQ(r.error().message,
            "ambiguous container identifier 'ab' matches: ab12cd34ef56 (web), ab34cd56ef78 (db)");
  const auto plain = resolve_index("ab", kCandidates);
  ASSERT_FALSE(plain);
  EXPECT_EQ(plain.error().message,
            "ambiguous identifier 'ab' matches: ab12cd34ef56 (web), ab34cd56ef78 (db)");
}

TEST(Resolve, DuplicateNamesAreAmbiguous) {
  const std::vector<Candidate> dup = {{"111111111abc", "x"}, {"222222222abc", "x"}};
  const auto r = resolve_id("x", dup);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, kErrAmbiguous);
  EXPECT_NE(r.error().message.find("111111111abc (x), 222222222abc (x)"), std::string::npos);
}

TEST(Resolve, NotFound) {
  for (const char* q : {"zz", "webx", "ab12cd34ef567", ""}) {
    const auto r = resolve_id(q, kCandidates, "network");
    ASSERT_FALSE(r) << q;
    EXPECT_EQ(r.error().code, ENOENT);
    EXPECT_EQ(r.error().message, std::string("no such network: ") + q);
  }
  EXPECT_EQ(resolve_id("x", std::vector<Candidate>{}).error().code, ENOENT);
  EXPECT_EQ(resolve_id("x", std::vector<Candidate>{}).error().message, "no such object: x");
}

}  // namespace
}  // namespace kleene
