#include "server/daemon/byte_size.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"

namespace corosched::server {
namespace {

struct Unit {
  const char* suffix;
  uint64_t bytes;
};

// Largest first: ParseByteSize tries the longer suffixes before "B".
constexpr Unit kUnits[] = {
    {"TiB", uint64_t{1} << 40},
    {"GiB", uint64_t{1} << 30},
    {"MiB", uint64_t{1} << 20},
    {"KiB", uint64_t{1} << 10},
    {"B", 1},
};

}  // namespace

absl::Status ParseByteSize(absl::string_view value, uint64_t max_bytes,
                           uint64_t* bytes) {
  uint64_t unit = 1;
  absl::string_view number = value;
  for (const Unit& candidate : kUnits) {
    if (absl::ConsumeSuffix(&number, candidate.suffix)) {
      unit = candidate.bytes;
      break;
    }
  }
  uint64_t count = 0;
  if (number.empty() || !absl::ascii_isdigit(number.front()) ||
      !absl::SimpleAtoi(number, &count) || count > max_bytes / unit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expected a size of at most ", FormatByteSize(max_bytes),
        " such as 0, 4096, 64MiB or 2GiB (units B, KiB, MiB, GiB, TiB)"));
  }
  *bytes = count * unit;
  return absl::OkStatus();
}

std::string FormatByteSize(uint64_t bytes) {
  for (const Unit& unit : kUnits) {
    if (bytes < unit.bytes || unit.bytes == 1) continue;
    if (bytes % unit.bytes == 0) {
      return absl::StrCat(bytes / unit.bytes, " ", unit.suffix);
    }
    return absl::StrFormat(
        "%.1f %s", static_cast<double>(bytes) / static_cast<double>(unit.bytes),
        unit.suffix);
  }
  return absl::StrCat(bytes, " B");
}

std::string FlagByteSize(uint64_t bytes) {
  for (const Unit& unit : kUnits) {
    if (unit.bytes > 1 && bytes >= unit.bytes && bytes % unit.bytes == 0) {
      return absl::StrCat(bytes / unit.bytes, unit.suffix);
    }
  }
  return absl::StrCat(bytes);
}

}  // namespace corosched::server
