#pragma once

#include "absl/time/time.h"

namespace corosched {

// Hooks through which the executor reports what metrics need. Unused (a
// null observer) they cost one predictable branch per wake and per poll.
//
// Sampling: one wake in kSampleEvery per waking thread is timestamped; the
// poll that follows it is timed and reported. Counts (polls, queue depths)
// are exact and come from Executor::Stats() instead, read at scrape time.
//
// Thread-safety: OnPollSampled runs on the worker thread `worker`, so an
// implementation can keep per-worker state (one cache line each) without
// locks, and sum it when scraped. It must be short and never block.
class ExecutorObserver {
 public:
  static constexpr unsigned kSampleEvery = 64;

  virtual ~ExecutorObserver() = default;

  // schedule_delay: from the wake (or spawn) that queued the task to the
  // start of this poll. poll_duration: how long the poll ran.
  virtual void OnPollSampled(int worker, absl::Duration schedule_delay,
                             absl::Duration poll_duration) = 0;
};

}  // namespace corosched
