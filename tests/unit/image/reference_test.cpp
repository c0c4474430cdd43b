#include <gtest/gtest.h>

#include "image/image.hpp"

namespace kleene::image {
namespace {

TEST(ImageReference, IdOrNameAlone) {
  auto ref = parse_reference("3f2a9c01b7de");
  ASSERT_TRUE(ref) << ref.error().message;
  EXPECT_EQ(ref->name_or_id, "3f2a9c01b7de");
  EXPECT_EQ(ref->tag, "");
  EXPECT_EQ(ref->snapshot, "");
}

TEST(ImageReference, NameTagSnapshot) {
  auto ref = parse_reference("FreeBSD-13.2/base:13.2-RELEASE@2e91f95bf959");
  ASSERT_TRUE(ref) << ref.error().message;
  EXPECT_EQ(ref->name_or_id, "FreeBSD-13.2/base");
  EXPECT_EQ(ref->tag, "13.2-RELEASE");
  EXPECT_EQ(ref->snapshot, "2e91f95bf959");

  auto no_tag = parse_reference("base@image");
  ASSERT_TRUE(no_tag);
  EXPECT_EQ(no_tag->name_or_id, "base");
  EXPECT_EQ(no_tag->tag, "");
  EXPECT_EQ(no_tag->snapshot, "image");
}

TEST(ImageReference, RejectsMalformed) {
  for (const char* bad :
       {"",   ":",    "name:",  ":tag", "name@", "@snap", "a b",   "-x",    ".x",  "/x",
        "x/", "a//b", "a/../b", "a/.b", "x:t:u", "x:t/u", "x@a@b", "x@a/b", "x\n", "x;rm"}) {
    auto ref = parse_reference(bad);
    EXPECT_FALSE(ref) << "accepted '" << bad << "'";
    if (!ref) {
      EXPECT_EQ(ref.error().code, EINVAL) << bad;
    }
  }
  EXPECT_FALSE(parse_reference(std::string(129, 'a')));
  EXPECT_TRUE(parse_reference(std::string(128, 'a')));
}

TEST(Nametag, DefaultsToLatest) {
  auto nt = parse_nametag("base");
  ASSERT_TRUE(nt);
  EXPECT_EQ(nt->first, "base");
  EXPECT_EQ(nt->second, "latest");

  nt = parse_nametag("FreeBSD-13.1-RELEASE:version1.0.test");
  ASSERT_TRUE(nt);
  EXPECT_EQ(nt->first, "FreeBSD-13.1-RELEASE");
  EXPECT_EQ(nt->second, "version1.0.test");
}

TEST(Nametag, RejectsInvalid) {
  for (const char* bad : {"", ":x", "x:", "x:-a", "x:.a", "-x", "x y", "x@y", "x:y@z", "x:y:z"}) {
    auto nt = parse_nametag(bad);
    EXPECT_FALSE(nt) << "accepted '" << bad << "'";
    if (!nt) {
      EXPECT_EQ(nt.error().code, EINVAL);
    }
  }
}

TEST(Nametag, Format) {
  Image image;
  EXPECT_EQ(format_nametag(image), "");
  image.name = "base";
  image.tag = "13";
  EXPECT_EQ(format_nametag(image), "base:13");
}

TEST(ImageJson, KleeneShape) {
  Image image{.id = "0123456789ab",
              .name = "base",
              .tag = "latest",
              .env = {"A=1"},
              .dataset = "zroot/kleene/image/0123456789ab",
              .created = "2024-01-02T03:04:05.123456Z"};
  const auto j = to_json(image);
  EXPECT_EQ(j["id"], "0123456789ab");
  EXPECT_EQ(j["cmd"], nlohmann::json::array({"/bin/sh"}));
  EXPECT_EQ(j["env"], nlohmann::json::array({"A=1"}));
  EXPECT_EQ(j["user"], "root");
  EXPECT_EQ(j["instructions"], nlohmann::json::array());
  EXPECT_EQ(j["buildargs"], nlohmann::json::object());
  EXPECT_EQ(j["dataset"], "zroot/kleene/image/0123456789ab");
  EXPECT_EQ(j["parent_snapshot"], "");
  EXPECT_EQ(j["created"], "2024-01-02T03:04:05.123456Z");
}

}  // namespace
}  // namespace kleene::image
