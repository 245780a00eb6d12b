#pragma once

#include <memory>
#include <utility>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "core/task/future.h"
#include "core/task/join_result.h"
#include "core/time/timer_driver.h"

namespace corosched {

// A future that becomes Ready once its driver's clock reaches `deadline`.
// Dropping it before then cancels the timer. Movable at any time: the timer
// entry lives on the heap.
//
// Thread-safety: a single-owner future (polled by one thread at a time).
class Sleep {
 public:
  using Output = void;

  Sleep(TimerDriver* driver, absl::Time deadline)
      : driver_(driver), entry_(std::make_unique<internal::TimerEntry>()) {
    entry_->deadline = deadline;
  }
  Sleep(Sleep&&) noexcept = default;
  // Cancels this Sleep's own timer before taking the other's.
  Sleep& operator=(Sleep&& other) noexcept {
    if (this != &other) {
      if (entry_ != nullptr) driver_->CancelEntry(entry_.get());
      driver_ = other.driver_;
      entry_ = std::move(other.entry_);
    }
    return *this;
  }
  ~Sleep() {
    if (entry_ != nullptr) driver_->CancelEntry(entry_.get());
  }

  corosched::Poll<void> Poll(Context& cx) {
    return driver_->PollEntry(entry_.get(), cx.waker());
  }

  absl::Time deadline() const { return entry_->deadline; }

 private:
  TimerDriver* driver_;
  std::unique_ptr<internal::TimerEntry> entry_;
};

// Runs `inner` with a deadline: its output, or DEADLINE_EXCEEDED once the
// deadline passes first (and `inner` is dropped with the Timeout).
template <Future F>
class Timeout {
 public:
  using Output = JoinResult<typename F::Output>;

  Timeout(F inner, Sleep sleep)
      : inner_(std::move(inner)), sleep_(std::move(sleep)) {}

  corosched::Poll<Output> Poll(Context& cx) {
    if constexpr (std::is_void_v<typename F::Output>) {
      if (inner_.Poll(cx).IsReady()) {
        return corosched::Poll<Output>::Ready(absl::OkStatus());
      }
    } else {
      auto poll = inner_.Poll(cx);
      if (poll.IsReady()) {
        return corosched::Poll<Output>::Ready(std::move(poll).value());
      }
    }
    if (sleep_.Poll(cx).IsReady()) {
      return corosched::Poll<Output>::Ready(absl::DeadlineExceededError(
          "timed out at " + absl::FormatTime(sleep_.deadline())));
    }
    return corosched::Poll<Output>::Pending();
  }

 private:
  F inner_;
  Sleep sleep_;
};

// Polls `inner` only once the delay has passed: a delayed start.
template <Future F>
class DelayedStart {
 public:
  using Output = typename F::Output;

  DelayedStart(Sleep delay, F inner)
      : delay_(std::move(delay)), inner_(std::move(inner)) {}

  corosched::Poll<Output> Poll(Context& cx) {
    if (!started_) {
      if (delay_.Poll(cx).IsPending()) {
        return corosched::Poll<Output>::Pending();
      }
      started_ = true;
    }
    return inner_.Poll(cx);
  }

 private:
  Sleep delay_;
  F inner_;
  bool started_ = false;
};

}  // namespace corosched
