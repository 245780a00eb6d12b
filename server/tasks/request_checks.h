#pragma once

// Checks on request fields the interpreter does not own: client-chosen task
// ids, labels, page sizes, delayed starts. Each error is INVALID_ARGUMENT and
// starts with the field's name, e.g. `labels["Team Name"]: ...`.

#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "corosched/v1/scheduler.pb.h"
#include "google/protobuf/map.h"

namespace corosched::server {

inline constexpr int kDefaultPageSize = 50;
inline constexpr int kMaxPageSize = 1000;
inline constexpr size_t kMaxTaskIdBytes = 128;
inline constexpr int kMaxLabels = 64;
inline constexpr size_t kMaxLabelKeyBytes = 63;
inline constexpr size_t kMaxLabelValueBytes = 256;

inline constexpr size_t kMaxCancelReasonBytes = 1024;

// A task id: 1 to 128 of A-Z a-z 0-9 '_' '-' '.' ':'.
absl::Status CheckTaskId(const std::string& id, const char* field);

// The task_id of a call that names an existing task (get, wake, cancel,
// watch): "task_id: required" when empty, else CheckTaskId, so an id no
// task can have is INVALID_ARGUMENT rather than NOT_FOUND.
absl::Status CheckLookupId(const std::string& id);

// A cancel's reason, which becomes the task's error: at most
// kMaxCancelReasonBytes.
absl::Status CheckCancelReason(const std::string& reason);

// At most kMaxLabels labels; keys of A-Z a-z 0-9 '_' '-' '.' '/', values
// up to kMaxLabelValueBytes.
absl::Status CheckLabels(
    const google::protobuf::Map<std::string, std::string>& labels);

// The page size to use: `requested`, kDefaultPageSize for 0, at most
// kMaxPageSize; negative is an error.
absl::StatusOr<int> PageSize(int requested);

// When a submitted task may first be polled: nullopt for at once. Uses
// start_at or now + start_after; both set, negative or malformed values, and
// a start more than `max_delay` after `now` (the daemon's
// --max-start-delay) are errors. A start_at in the past means at once.
absl::StatusOr<std::optional<absl::Time>> StartTime(
    const v1::SubmitTaskRequest& request, absl::Time now,
    absl::Duration max_delay);

}  // namespace corosched::server
