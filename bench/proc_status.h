// The benchmarks' view of their own memory: a field of /proc/self/status in KiB.
//
//   long rss = bench::StatusKb("VmRSS");   // -1 when the field is missing
#ifndef MODELPIN_BENCH_PROC_STATUS_H_
#define MODELPIN_BENCH_PROC_STATUS_H_

#include <charconv>
#include <fstream>
#include <string>
#include <string_view>

namespace bench {

inline long StatusKb(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() <= field.size() || line.compare(0, field.size(), field) != 0 || line[field.size()] != ':') continue;
    size_t i = field.size() + 1;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    long kb = -1;
    std::from_chars(line.data() + i, line.data() + line.size(), kb);
    return kb;
  }
  return -1;
}

}  // namespace bench

#endif  // MODELPIN_BENCH_PROC_STATUS_H_
