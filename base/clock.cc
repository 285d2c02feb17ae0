#include "base/clock.h"

#include <cctype>
#include <chrono>
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
    if (at + len > t.size()) return std::nullopt;
    int64_t n = 0;
    for (size_t i = at; i < at + len; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(t[i]))) return std::nullopt;
      n = n * 10 + (t[i] - '0');
    }
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

std::optional<int64_t> ParseDurationMs(std::string_view s) {
  int64_t unit;
  size_t digits = s.size();
  if (s.size() > 2 && s.substr(s.size() - 2) == "ms") {
    unit = 1;
    digits -= 2;
  } else if (s.size() >= 2) {
    switch (s.back()) {
      case 's': unit = 1'000; break;
      case 'm': unit = 60'000; break;
      case 'h': unit = 3'600'000; break;
      case 'd': unit = 86'400'000; break;
      case 'w': unit = 7 * 86'400'000LL; break;
      default: return std::nullopt;
    }
    digits -= 1;
  } else {
    return std::nullopt;
  }
  int64_t n = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    n = n * 10 + (s[i] - '0');
    if (n > 1'000'000'000) return std::nullopt;
  }
  if (n <= 0) return std::nullopt;
  return n * unit;
}

}  // namespace modelpin
