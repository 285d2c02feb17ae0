#include <modelpin/base/clock.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace modelpin {
namespace {

using std::chrono::day;
using std::chrono::month;
using std::chrono::sys_days;
using std::chrono::year;
using std::chrono::year_month_day;

}  // namespace

std::string FormatUtc(int64_t ms) {
  int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
  int64_t rem_ms = ms - secs * 1000;
  int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
  int64_t sod = secs - days * 86400;
  const year_month_day ymd{sys_days{std::chrono::days{days}}};
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02lld:%02lld:%02lld", static_cast<int>(ymd.year()),
                        static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                        static_cast<long long>(sod / 3600), static_cast<long long>(sod / 60 % 60),
                        static_cast<long long>(sod % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (rem_ms) {
    std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(rem_ms));
    out += buf;
  }
  return out + "Z";
}

std::optional<int64_t> ParseUtc(std::string_view t) {
  // YYYY-MM-DDTHH:MM:SS[.fff]Z
  auto num = [&](size_t at, size_t len) -> std::optional<int64_t> {
    if (at + len > t.size() || !std::isdigit(static_cast<unsigned char>(t[at]))) return std::nullopt;  // no sign
    int64_t n = 0;
    const char* end = t.data() + at + len;
    if (std::from_chars(t.data() + at, end, n).ptr != end) return std::nullopt;
    return n;
  };
  if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') || t[13] != ':' || t[16] != ':')
    return std::nullopt;
  auto y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), s = num(17, 2);
  if (!y || !mo || !d || !h || !mi || !s || *mo < 1 || *mo > 12 || *d < 1 || *d > 31 || *h > 23 || *mi > 59 || *s > 60)
    return std::nullopt;
  size_t at = 19;
  int64_t frac = 0;
  if (at < t.size() && t[at] == '.') {
    int digits = 0;
    for (++at; at < t.size() && std::isdigit(static_cast<unsigned char>(t[at])); ++at, ++digits)
      if (digits < 3) frac = frac * 10 + (t[at] - '0');
    if (digits == 0) return std::nullopt;
    for (; digits < 3; ++digits) frac *= 10;
  }
  if (at + 1 != t.size() || (t[at] != 'Z' && t[at] != 'z')) return std::nullopt;
  // The calendar says whether the day exists: 2026-02-31 and 2025-02-29 are refused.
  const year_month_day ymd{year{static_cast<int>(*y)}, month{static_cast<unsigned>(*mo)}, day{static_cast<unsigned>(*d)}};
  if (!ymd.ok()) return std::nullopt;
  const int64_t days = sys_days{ymd}.time_since_epoch().count();
  return ((days * 24 + *h) * 60 + *mi) * 60'000 + *s * 1000 + frac;
}

std::optional<int64_t> ParseDurationMs(std::string_view s, int64_t bare_unit_ms) {
  auto digits = [&](size_t i) {
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i;
  };
  double total = 0;
  size_t i = 0;
  for (int part = 0; i < s.size() || part == 0; ++part) {
    const size_t start = i;
    i = digits(i);
    if (i == start) return std::nullopt;
    if (i + 1 < s.size() && s[i] == '.' && s[i + 1] >= '0' && s[i + 1] <= '9') i = digits(i + 1);
    double value = 0;
    if (std::from_chars(s.data() + start, s.data() + i, value).ec != std::errc()) return std::nullopt;
    double unit;
    if (s.compare(i, 2, "ms") == 0) unit = 1, i += 2;
    else if (i == s.size()) unit = 0;
    else switch (s[i++]) {
      case 's': unit = 1e3; break;
      case 'm': unit = 60e3; break;
      case 'h': unit = 3600e3; break;
      case 'd': unit = 86400e3; break;
      case 'w': unit = 7 * 86400e3; break;
      default: return std::nullopt;
    }
    if (unit == 0) {  // a bare number: alone, and only when the caller gives it a unit
      if (part > 0 || bare_unit_ms <= 0) return std::nullopt;
      unit = static_cast<double>(bare_unit_ms);
    }
    total += value * unit;
  }
  const double ms = std::round(total);
  if (!(ms > 0) || ms > 9007199254740991.0) return std::nullopt;
  return static_cast<int64_t>(ms);
}

}  // namespace modelpin
