#pragma once

// CPU time of processes, for benchmarks that report CPU per operation beside
// rates: the benchmarks' own process, and (bench/loadgen) a server's.

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace corosched::bench {

// CPU time of every thread of this process so far, in seconds. Other
// processes on the machine barely move it, so it shows small costs that the
// wall clock of a shared machine hides.
inline double ProcessCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// The same for process `pid` (utime + stime of /proc/PID/stat, so in clock
// ticks), or nullopt when it cannot be read.
inline std::optional<double> ProcessCpuSeconds(long pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  const std::string stat((std::istreambuf_iterator<char>(file)),
                         std::istreambuf_iterator<char>());
  // The command name, field 2, is in parentheses and may hold spaces: count
  // fields from after its closing one, where field 3 (the state) starts.
  const size_t name_end = stat.rfind(')');
  if (name_end == std::string::npos) return std::nullopt;
  std::vector<std::string_view> fields;
  std::string_view rest = std::string_view(stat).substr(name_end + 1);
  while (!rest.empty()) {
    const size_t begin = rest.find_first_not_of(' ');
    if (begin == std::string_view::npos) break;
    rest.remove_prefix(begin);
    const size_t end = std::min(rest.find(' '), rest.size());
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  // utime and stime are fields 14 and 15: indexes 11 and 12 from field 3.
  if (fields.size() < 13) return std::nullopt;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  return (std::strtod(std::string(fields[11]).c_str(), nullptr) +
          std::strtod(std::string(fields[12]).c_str(), nullptr)) /
         ticks;
}

}  // namespace corosched::bench
