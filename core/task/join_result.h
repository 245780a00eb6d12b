#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace corosched {

// What awaiting a task yields: the future's output, or CANCELLED when the
// task was cancelled (by its JoinHandle or by executor shutdown) before it
// finished. A future with no output yields an absl::Status.
template <typename T>
struct JoinResultOf {
  using type = absl::StatusOr<T>;
};
template <>
struct JoinResultOf<void> {
  using type = absl::Status;
};
template <typename T>
using JoinResult = typename JoinResultOf<T>::type;

}  // namespace corosched
