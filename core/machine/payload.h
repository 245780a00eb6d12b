#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/machine/value.h"
#include "google/protobuf/struct.pb.h"

namespace corosched::machine {

// The variables a signal payload lands in: each string, number or bool field
// becomes variable `prefix` + field name; nested objects are flattened with
// '.' ({"user": {"id": 7}} -> "signal.user.id"). Sorted by name.
using PayloadVariables = std::vector<std::pair<std::string, Value>>;

// Flattens `payload` under `prefix` into `out` (cleared first).
// INVALID_ARGUMENT when a field is a list, a null or a number that is not
// finite, a field name breaks IsValidName or is longer than `max_name_bytes`
// once prefixed, or two fields land in the same variable; the message names
// the field.
absl::Status FlattenPayload(const google::protobuf::Struct& payload,
                            absl::string_view prefix, size_t max_name_bytes,
                            PayloadVariables* out);

}  // namespace corosched::machine
