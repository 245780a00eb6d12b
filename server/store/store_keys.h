#pragma once

// Small encodings every TaskStore implementation shares, so that page tokens
// and content comparisons mean the same thing whichever store is behind the
// daemon.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"

namespace corosched::server {

// An opaque page token that resumes a newest-first listing after the item
// with store position `position` (a monotonically increasing insertion
// number, such as an SQL rowid).
std::string EncodePageToken(uint64_t position);

// The position EncodePageToken encoded. INVALID_ARGUMENT, naming the field,
// for any token this format did not produce.
absl::StatusOr<uint64_t> DecodePageToken(absl::string_view token);

// `message` serialized deterministically (map entries sorted), so two equal
// messages give equal bytes in this build. Used to compare definitions and
// to fingerprint submit requests.
std::string DeterministicBytes(const google::protobuf::MessageLite& message);

}  // namespace corosched::server
