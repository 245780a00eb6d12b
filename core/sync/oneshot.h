#pragma once

#include <memory>
#include <optional>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/task/future.h"

namespace corosched {

namespace internal {
template <typename T>
struct OneShotState {
  absl::Mutex mu;
  std::optional<T> value ABSL_GUARDED_BY(mu);
  bool sender_gone ABSL_GUARDED_BY(mu) = false;
  bool receiver_gone ABSL_GUARDED_BY(mu) = false;
  Waker receiver ABSL_GUARDED_BY(mu);
};
}  // namespace internal

template <typename T>
class OneShotReceiver;

// The sending half of a one-shot channel: sends one value, once.
// Dropping it unsent makes the receiver yield CANCELLED.
template <typename T>
class OneShotSender {
 public:
  OneShotSender(OneShotSender&&) noexcept = default;
  // No move-assignment: it would drop a channel without telling its peer.
  OneShotSender& operator=(OneShotSender&&) = delete;
  ~OneShotSender() {
    // A receiver that is gone already needs no news of this.
    if (state_ != nullptr) Finish(std::nullopt).IgnoreError();
  }

  // FAILED_PRECONDITION when the receiver is gone (the value is dropped).
  absl::Status Send(T value) && {
    if (state_ == nullptr) {
      return absl::FailedPreconditionError("one-shot value already sent");
    }
    return Finish(std::move(value));
  }

 private:
  template <typename U>
  friend std::pair<OneShotSender<U>, OneShotReceiver<U>> MakeOneShot();
  explicit OneShotSender(std::shared_ptr<internal::OneShotState<T>> state)
      : state_(std::move(state)) {}

  absl::Status Finish(std::optional<T> value) {
    auto state = std::move(state_);
    Waker waker;
    {
      absl::MutexLock lock(&state->mu);
      if (state->receiver_gone) {
        return absl::FailedPreconditionError("one-shot receiver was dropped");
      }
      state->value = std::move(value);
      state->sender_gone = true;
      waker = std::move(state->receiver);
    }
    std::move(waker).Wake();
    return absl::OkStatus();
  }

  std::shared_ptr<internal::OneShotState<T>> state_;
};

// The receiving half: a future of the value, or CANCELLED when the sender
// was dropped without sending.
template <typename T>
class OneShotReceiver {
 public:
  using Output = absl::StatusOr<T>;

  OneShotReceiver(OneShotReceiver&&) noexcept = default;
  OneShotReceiver& operator=(OneShotReceiver&&) = delete;
  ~OneShotReceiver() {
    if (state_ == nullptr) return;
    absl::MutexLock lock(&state_->mu);
    state_->receiver_gone = true;
  }

  corosched::Poll<Output> Poll(Context& cx) {
    absl::MutexLock lock(&state_->mu);
    if (state_->value.has_value()) {
      Output value(std::move(*state_->value));
      state_->value.reset();
      return corosched::Poll<Output>::Ready(std::move(value));
    }
    if (state_->sender_gone) {
      return corosched::Poll<Output>::Ready(
          absl::CancelledError("one-shot sender was dropped without sending"));
    }
    if (!state_->receiver.WillWake(cx.waker())) state_->receiver = cx.waker();
    return corosched::Poll<Output>::Pending();
  }

 private:
  template <typename U>
  friend std::pair<OneShotSender<U>, OneShotReceiver<U>> MakeOneShot();
  explicit OneShotReceiver(std::shared_ptr<internal::OneShotState<T>> state)
      : state_(std::move(state)) {}

  std::shared_ptr<internal::OneShotState<T>> state_;
};

// A channel for exactly one value: the way a task hands a result to another
// task or to a plain thread. Thread-safety: each half may live on any
// thread; the halves synchronise through a mutex.
template <typename T>
std::pair<OneShotSender<T>, OneShotReceiver<T>> MakeOneShot() {
  auto state = std::make_shared<internal::OneShotState<T>>();
  return {OneShotSender<T>(state), OneShotReceiver<T>(state)};
}

}  // namespace corosched
