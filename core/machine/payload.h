#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "core/machine/value.h"
#include "google/protobuf/struct.pb.h"

namespace corosched::machine {

// The variables a signal payload lands in: each top-level field becomes
// variable `prefix` + field name holding the field's whole JSON value
// ({"user": {"id": 7}} -> "signal.user" = {"id": 7}, which the path
// "signal.user.id" reads; lists and nulls land as they are). Sorted by name.
using PayloadVariables = std::vector<std::pair<std::string, Value>>;

// Lands `payload` under `prefix` into `out` (cleared first).
// INVALID_ARGUMENT when a top-level field name breaks IsValidName or is
// longer than `max_name_bytes` once prefixed, or a field's value is one a
// task cannot hold (see CheckJson: a NaN or infinity anywhere inside, lists
// and objects nested deeper than kMaxValueDepth); the message names the
// field.
absl::Status LandPayload(const google::protobuf::Struct& payload,
                         absl::string_view prefix, size_t max_name_bytes,
                         PayloadVariables* out);

}  // namespace corosched::machine
