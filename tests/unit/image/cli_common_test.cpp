// klee's shared image/volume helpers: Click's confirmation prompt, URL escaping, "created" ages.
#include <gtest/gtest.h>

#include <sstream>

#include "commands/image_volume_common.hpp"

namespace klee {
namespace {

struct Prompt {
  int accepted = 0;
  std::string out;
  std::string err;
};

Prompt ask(const std::string& input) {
  Settings settings;
  Client client(settings);
  std::ostringstream out;
  std::ostringstream err;
  Context ctx{.settings = settings, .client = client, .out = out, .err = err};
  std::istringstream in(input);
  Prompt p;
  p.accepted = confirm(ctx, "WARNING! This will remove all unused images.", in) ? 1 : 0;
  p.out = out.str();
  p.err = err.str();
  return p;
}

constexpr std::string_view kQuestion = "Are you sure you want to continue? [y/N]: ";

TEST(Confirm, YesGoesOn) {
  for (const char* yes : {"y\n", "Y\n", "yes\n", " YES \n"}) {
    auto p = ask(yes);
    EXPECT_EQ(p.accepted, 1) << yes;
    EXPECT_EQ(p.out, "WARNING! This will remove all unused images.\n" + std::string(kQuestion));
    EXPECT_EQ(p.err, "");
  }
}

TEST(Confirm, NoEmptyOrEndOfInputAborts) {
  for (const char* no : {"n\n", "no\n", "\n", ""}) {
    auto p = ask(no);
    EXPECT_EQ(p.accepted, 0) << no;
    EXPECT_EQ(p.err, "Aborted!\n") << no;
  }
}

TEST(Confirm, OtherAnswersAskAgain) {
  auto p = ask("maybe\ny\n");
  EXPECT_EQ(p.accepted, 1);
  EXPECT_EQ(p.out, "WARNING! This will remove all unused images.\n" + std::string(kQuestion) +
                       "Error: invalid input\n" + std::string(kQuestion));
}

TEST(UrlEscape, KeepsOnlyUnreserved) {
  EXPECT_EQ(url_escape("base:13.2-RELEASE_x~"), "base%3A13.2-RELEASE_x~");
  EXPECT_EQ(url_escape("a/b c?d#e&f=%"), "a%2Fb%20c%3Fd%23e%26f%3D%25");
}

TEST(CreatedAgo, HumanDurationOrRawText) {
  EXPECT_EQ(created_ago(nlohmann::json{{"created", kleene::iso8601_now()}}),
            "Less than a second ago");
  EXPECT_EQ(
      created_ago(nlohmann::json{{"created", "2001-01-01T00:00:00Z"}}).ends_with(" years ago"),
      true);
  EXPECT_EQ(created_ago(nlohmann::json{{"created", "yesterday"}}), "yesterday");
  EXPECT_EQ(created_ago(nlohmann::json::object()), "");
}

}  // namespace
}  // namespace klee
