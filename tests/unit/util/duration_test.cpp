#include "util/duration.hpp"

#include <gtest/gtest.h>

namespace kleene {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

std::string hd(seconds s) {
  return human_duration(s);
}

TEST(HumanDuration, Seconds) {
  EXPECT_EQ(hd(seconds{-5}), "Less than a second");
  EXPECT_EQ(hd(seconds{0}), "Less than a second");
  EXPECT_EQ(hd(seconds{1}), "1 second");
  EXPECT_EQ(hd(seconds{2}), "2 seconds");
  EXPECT_EQ(hd(seconds{59}), "59 seconds");
}

TEST(HumanDuration, Minutes) {
  EXPECT_EQ(hd(seconds{60}), "About a minute");
  EXPECT_EQ(hd(seconds{119}), "About a minute");
  EXPECT_EQ(hd(seconds{120}), "2 minutes");
  EXPECT_EQ(hd(minutes{59} + seconds{59}), "59 minutes");
}

TEST(HumanDuration, HoursRoundToNearest) {
  EXPECT_EQ(hd(minutes{60}), "About an hour");
  EXPECT_EQ(hd(minutes{89} + seconds{59}), "About an hour");
  EXPECT_EQ(hd(minutes{90}), "2 hours");
  EXPECT_EQ(hd(minutes{149}), "2 hours");
  EXPECT_EQ(hd(minutes{150}), "3 hours");
  EXPECT_EQ(hd(hours{47}), "47 hours");
  EXPECT_EQ(hd(hours{47} + minutes{29}), "47 hours");
  EXPECT_EQ(hd(hours{47} + minutes{30}), "2 days");  // rounds to 48 hours
}

TEST(HumanDuration, DaysWeeksMonthsYears) {
  EXPECT_EQ(hd(hours{48}), "2 days");
  EXPECT_EQ(hd(hours{24 * 13 + 23}), "13 days");
  EXPECT_EQ(hd(hours{24 * 14}), "2 weeks");
  EXPECT_EQ(hd(hours{24 * 59}), "8 weeks");
  EXPECT_EQ(hd(hours{24 * 60}), "2 months");
  EXPECT_EQ(hd(hours{24 * 729}), "24 months");
  EXPECT_EQ(hd(hours{24 * 730}), "2 years");
  EXPECT_EQ(hd(hours{24 * 365 * 10}), "10 years");
}

TEST(TimeAgo, AppendsAgo) {
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(time_ago(now, now), "Less than a second ago");
  EXPECT_EQ(time_ago(now - std::chrono::milliseconds{999}, now), "Less than a second ago");
  EXPECT_EQ(time_ago(now - seconds{1}, now), "1 second ago");
  EXPECT_EQ(time_ago(now - minutes{1}, now), "About a minute ago");
  EXPECT_EQ(time_ago(now - minutes{5}, now), "5 minutes ago");
  EXPECT_EQ(time_ago(now - hours{1}, now), "About an hour ago");
  EXPECT_EQ(time_ago(now - hours{3}, now), "3 hours ago");
  EXPECT_EQ(time_ago(now - hours{24 * 2}, now), "2 days ago");
  EXPECT_EQ(time_ago(now - hours{24 * 21}, now), "3 weeks ago");
  EXPECT_EQ(time_ago(now - hours{24 * 120}, now), "4 months ago");
  EXPECT_EQ(time_ago(now - hours{24 * 365 * 2}, now), "2 years ago");
  EXPECT_EQ(time_ago(now + hours{1}, now), "Less than a second ago");
}

}  // namespace
}  // namespace kleene
