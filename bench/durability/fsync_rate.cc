// fsync_rate: the raw rate of small synchronous appends on a directory's
// disk, the ceiling group commit works around: each iteration appends 4 KiB
// to a file and fdatasyncs it, as one commit of a write-ahead log would.
//
//   fsync_rate --dir DIR [--seconds S]
// prints one JSON line: {"fsyncs_per_s":..,"p50_us":..,"p99_us":..}

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

int main(int argc, char** argv) {
  std::string dir;
  double seconds = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--dir") == 0) dir = argv[i + 1];
    if (std::strcmp(argv[i], "--seconds") == 0)
      seconds = std::atof(argv[i + 1]);
  }
  if (dir.empty() || seconds <= 0) {
    std::fprintf(stderr, "usage: fsync_rate --dir DIR [--seconds S]\n");
    return 2;
  }
  const std::string path = dir + "/fsync_rate.tmp";
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    std::perror(path.c_str());
    return 1;
  }
  using Clock = std::chrono::steady_clock;
  const std::vector<char> block(4096, 'x');
  std::vector<double> micros;
  const Clock::time_point begin = Clock::now();
  const Clock::time_point end =
      begin + std::chrono::duration_cast<Clock::duration>(
                  std::chrono::duration<double>(seconds));
  for (Clock::time_point now = begin; now < end;) {
    if (write(fd, block.data(), block.size()) !=
            static_cast<ssize_t>(block.size()) ||
        fdatasync(fd) != 0) {
      std::perror("write/fdatasync");
      return 1;
    }
    const Clock::time_point after = Clock::now();
    micros.push_back(
        std::chrono::duration<double, std::micro>(after - now).count());
    now = after;
  }
  const double elapsed =
      std::chrono::duration<double>(Clock::now() - begin).count();
  close(fd);
  unlink(path.c_str());
  std::sort(micros.begin(), micros.end());
  auto at = [&](double q) {
    return micros[std::min(
        micros.size() - 1,
        static_cast<size_t>(q * static_cast<double>(micros.size())))];
  };
  std::printf("{\"fsyncs_per_s\":%.0f,\"p50_us\":%.0f,\"p99_us\":%.0f}\n",
              static_cast<double>(micros.size()) / elapsed, at(0.5), at(0.99));
  return 0;
}
