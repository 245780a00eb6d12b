#pragma once

// Sizes in bytes as flags take them and as messages show them.
//
//   uint64_t bytes = 0;
//   ParseByteSize("64MiB", uint64_t{1} << 60, &bytes);  // 67108864
//   FormatByteSize(12345);                               // "12.1 KiB"

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace corosched::server {

// A whole number with an optional binary unit: B, KiB, MiB, GiB or TiB
// (none: bytes), such as 0, 4096, 64MiB or 2GiB. INVALID_ARGUMENT saying
// what it accepts, or when the size exceeds `max_bytes`.
absl::Status ParseByteSize(absl::string_view value, uint64_t max_bytes,
                           uint64_t* bytes);

// "512 B", "12 KiB", "1.5 GiB": the largest unit of at least 1, with one
// decimal unless the size is whole in it.
std::string FormatByteSize(uint64_t bytes);

// The size as a flag takes it: "8MiB", "1GiB", "1500", in the largest unit
// it is whole in (ParseByteSize reads it back to `bytes`).
std::string FlagByteSize(uint64_t bytes);

}  // namespace corosched::server
