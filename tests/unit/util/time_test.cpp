#include "util/time.hpp"

#include <gtest/gtest.h>

namespace kleene {
namespace {

using namespace std::chrono;

TimePoint at(int y, unsigned mo, unsigned d, int h, int mi, int s, int us) {
  return time_point_cast<system_clock::duration>(sys_days{year{y} / mo / d} + hours{h} +
                                                 minutes{mi} + seconds{s} + microseconds{us});
}

TEST(Time, Format) {
  EXPECT_EQ(format_iso8601(at(2026, 11, 23, 16, 18, 54, 123456)), "2026-11-23T16:18:54.123456Z");
  EXPECT_EQ(format_iso8601(at(1999, 1, 2, 3, 4, 5, 6)), "1999-01-02T03:04:05.000006Z");
  EXPECT_EQ(format_iso8601(TimePoint{}), "1970-01-01T00:00:00.000000Z");
  // Sub-microsecond precision is truncated.
  EXPECT_EQ(format_iso8601(at(2026, 1, 1, 0, 0, 0, 1) + nanoseconds{999}),
            "2026-01-01T00:00:00.000001Z");
}

TEST(Time, NowHasTheShape) {
  // 'd' stands for a digit; std::regex is avoided (GCC 12 warns inside it under sanitizers).
  const std::string shape = "dddd-dd-ddTdd:dd:dd.ddddddZ";
  const std::string now = iso8601_now();
  ASSERT_EQ(now.size(), shape.size()) << now;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 'd') {
      EXPECT_TRUE(now[i] >= '0' && now[i] <= '9') << now;
    } else {
      EXPECT_EQ(now[i], shape[i]) << now;
    }
  }
}

TEST(Time, RoundTrip) {
  const auto now = floor<microseconds>(system_clock::now());
  const auto parsed = parse_iso8601(format_iso8601(now));
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(*parsed, now);
  for (const char* text : {"2026-11-23T16:18:54.123456Z", "2000-02-29T23:59:59.999999Z",
                           "1970-01-01T00:00:00.000000Z"}) {
    const auto tp = parse_iso8601(text);
    ASSERT_TRUE(tp) << text;
    EXPECT_EQ(format_iso8601(*tp), text);
  }
}

TEST(Time, ParseVariants) {
  const auto expected = at(2023, 5, 22, 7, 15, 21, 716000);
  EXPECT_EQ(parse_iso8601("2023-05-22T07:15:21.716Z").value(), expected);
  EXPECT_EQ(parse_iso8601("2023-05-22 07:15:21.716z").value(), expected);
  EXPECT_EQ(parse_iso8601("2023-05-22T07:15:21.716000999Z").value(), expected);
  EXPECT_EQ(parse_iso8601("2023-05-22T09:15:21.716+02:00").value(), expected);
  EXPECT_EQ(parse_iso8601("2023-05-22T02:45:21.716-04:30").value(), expected);
  EXPECT_EQ(parse_iso8601("2023-05-22T07:15:21Z").value(), at(2023, 5, 22, 7, 15, 21, 0));
}

TEST(Time, ParseRejects) {
  for (const char* bad :
       {"", "2023-05-22", "2023-05-22T07:15:21", "2023-05-22T07:15:21.Z", "2023-02-30T00:00:00Z",
        "2023-13-01T00:00:00Z", "2023-05-22T24:00:00Z", "2023-05-22T07:60:00Z",
        "2023-05-22T07:15:21.1234567890Z", "2023-05-22T07:15:21Zjunk", "2023-05-22T07:15:21+0200",
        "23-05-22T07:15:21Z", "2023-05-22T07:15:21+25:00"}) {
    const auto r = parse_iso8601(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, EINVAL);
  }
}

}  // namespace
}  // namespace kleene
