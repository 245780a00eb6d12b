#pragma once

// Checks of what callers hand to WorkQueues: bad input from the network is a
// Status, never a crash.

#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "server/work/work_types.h"

namespace corosched::server {

struct WorkLimits {
  static constexpr size_t kMaxQueueNameBytes = 64;
  static constexpr size_t kMaxWorkerIdentityBytes = 256;
  static constexpr size_t kMaxErrorNameBytes = 128;
  static constexpr size_t kMaxErrorMessageBytes = size_t{32} * 1024;
  static constexpr uint32_t kMaxPollItems = 100;
  static constexpr absl::Duration kMaxPollWait = absl::Seconds(60);
};

// A client's queue name: 1 to 64 bytes of letters, digits, `_ - .`.
// INVALID_ARGUMENT naming the field `field` otherwise.
absl::Status ValidateQueueName(absl::string_view name,
                               absl::string_view field = "queue");
// A queue's key in WorkQueues: a queue name, optionally after a namespace
// and '/' (server/store/namespace_keys.h: `b/emails` is queue `emails` of
// namespace `b`, each part 1 to 64 such bytes). Check a client's name with
// ValidateQueueName before qualifying it, so its errors quote what it sent.
absl::Status ValidateQueueKey(absl::string_view key,
                              absl::string_view field = "queue");
// At most 256 bytes; may be empty.
absl::Status ValidateWorkerIdentity(absl::string_view worker);
// A task id of 1 to 128 bytes, attempt >= 1, a valid queue, durations >= 0,
// and a timeout or a heartbeat interval.
absl::Status ValidateWorkSpec(const WorkSpec& spec);
// error 1 to 128 bytes, message at most 32 KiB.
absl::Status ValidateFailure(absl::string_view error,
                             absl::string_view message);
// max_items 0 (meaning 1) to 100; wait from 0 to 60s.
absl::Status ValidatePoll(uint32_t max_items, absl::Duration wait);

}  // namespace corosched::server
