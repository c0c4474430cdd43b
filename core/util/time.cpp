#include "util/time.hpp"

#include <cstdio>

namespace kleene {

using namespace std::chrono;

std::string format_iso8601(TimePoint when) {
  const auto micros = floor<microseconds>(when);
  const auto day = floor<days>(micros);
  const year_month_day ymd{day};
  const hh_mm_ss hms{micros - day};
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%06dZ", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                int(hms.minutes().count()), int(hms.seconds().count()),
                int(hms.subseconds().count()));
  return buf;
}

std::string iso8601_now() {
  return format_iso8601(system_clock::now());
}

namespace {

// A cursor over the text that reads fixed-width decimal fields.
struct Reader {
  std::string_view text;

  bool digits(std::size_t width, int& out) {
    if (text.size() < width) return false;
    int value = 0;
    for (std::size_t i = 0; i < width; ++i) {
      const char c = text[i];
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    text.remove_prefix(width);
    out = value;
    return true;
  }
  bool literal(char c) {
    if (text.empty() || text.front() != c) return false;
    text.remove_prefix(1);
    return true;
  }
  bool one_of(std::string_view chars) {
    if (text.empty() || chars.find(text.front()) == std::string_view::npos) return false;
    text.remove_prefix(1);
    return true;
  }
};

Result<TimePoint> invalid(std::string_view text) {
  return make_error(EINVAL, "invalid ISO-8601 timestamp '" + std::string(text) + "'");
}

}  // namespace

Result<TimePoint> parse_iso8601(std::string_view text) {
  Reader in{text};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  if (!(in.digits(4, y) && in.literal('-') && in.digits(2, mo) && in.literal('-') &&
        in.digits(2, d) && in.one_of("T ") && in.digits(2, h) && in.literal(':') &&
        in.digits(2, mi) && in.literal(':') && in.digits(2, s))) {
    return invalid(text);
  }
  const year_month_day ymd{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return invalid(text);

  long long micros = 0;
  if (in.literal('.')) {
    int digit_count = 0;
    while (!in.text.empty() && in.text.front() >= '0' && in.text.front() <= '9') {
      if (++digit_count > 9) return invalid(text);
      if (digit_count <= 6) micros = micros * 10 + (in.text.front() - '0');
      in.text.remove_prefix(1);
    }
    if (digit_count == 0) return invalid(text);
    for (int i = digit_count; i < 6; ++i)
      micros *= 10;
  }

  minutes offset{0};
  if (!in.one_of("Zz")) {
    const bool negative = !in.text.empty() && in.text.front() == '-';
    int oh = 0, om = 0;
    if (!(in.one_of("+-") && in.digits(2, oh) && in.literal(':') && in.digits(2, om)) || oh > 23 ||
        om > 59) {
      return invalid(text);
    }
    offset = hours{oh} + minutes{om};
    if (negative) offset = -offset;
  }
  if (!in.text.empty()) return invalid(text);

  const auto local = sys_days{ymd} + hours{h} + minutes{mi} + seconds{s} + microseconds{micros};
  return time_point_cast<system_clock::duration>(local - offset);
}

}  // namespace kleene
