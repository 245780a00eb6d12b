#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "core/task/future.h"

namespace corosched {

namespace internal {
template <typename T>
struct ChannelState {
  explicit ChannelState(size_t cap) : capacity(cap) {}
  const size_t capacity;
  absl::Mutex mu;
  std::deque<T> buffer ABSL_GUARDED_BY(mu);
  size_t senders ABSL_GUARDED_BY(mu) = 1;
  bool receiver_gone ABSL_GUARDED_BY(mu) = false;
  Waker receiver ABSL_GUARDED_BY(mu);
  std::vector<Waker> blocked_senders ABSL_GUARDED_BY(mu);
};
}  // namespace internal

// The sending half of a bounded multi-producer, single-consumer channel.
// Copy it to get more producers. Send() is a future that completes once the
// value is in the buffer (waiting while the buffer is full), or with
// FAILED_PRECONDITION when the receiver is gone.
template <typename T>
class ChannelSender {
 public:
  class SendFuture {
   public:
    using Output = absl::Status;
    corosched::Poll<absl::Status> Poll(Context& cx) {
      absl::MutexLock lock(&state_->mu);
      if (state_->receiver_gone) {
        return corosched::Poll<absl::Status>::Ready(
            absl::FailedPreconditionError("channel receiver was dropped"));
      }
      if (state_->buffer.size() >= state_->capacity) {
        state_->blocked_senders.push_back(cx.waker());
        return corosched::Poll<absl::Status>::Pending();
      }
      state_->buffer.push_back(std::move(*value_));
      // Woken by reference, under the lock: the receiver keeps its
      // registered Waker, so a steady stream costs no reference counting.
      // Waking takes only scheduler locks, which never wait for this one.
      state_->receiver.WakeByRef();
      return corosched::Poll<absl::Status>::Ready(absl::OkStatus());
    }

   private:
    friend class ChannelSender;
    SendFuture(internal::ChannelState<T>* state, T value)
        : state_(state), value_(std::move(value)) {}
    internal::ChannelState<T>* state_;
    std::optional<T> value_;
  };

  explicit ChannelSender(std::shared_ptr<internal::ChannelState<T>> state)
      : state_(std::move(state)) {}
  ChannelSender(const ChannelSender& other) : state_(other.state_) {
    absl::MutexLock lock(&state_->mu);
    ++state_->senders;
  }
  ChannelSender(ChannelSender&&) noexcept = default;
  ChannelSender& operator=(const ChannelSender&) = delete;
  ~ChannelSender() {
    if (state_ == nullptr) return;
    Waker receiver;
    {
      absl::MutexLock lock(&state_->mu);
      if (--state_->senders == 0) receiver = std::move(state_->receiver);
    }
    std::move(receiver).Wake();
  }

  // REQUIRES: the sender outlives the returned future.
  SendFuture Send(T value) const {
    return SendFuture(state_.get(), std::move(value));
  }

 private:
  std::shared_ptr<internal::ChannelState<T>> state_;
};

// The receiving half. Recv() is a future of the next value, or nullopt once
// every sender is gone and the buffer is empty.
template <typename T>
class ChannelReceiver {
 public:
  class RecvFuture {
   public:
    using Output = std::optional<T>;
    corosched::Poll<Output> Poll(Context& cx) {
      std::vector<Waker> senders;
      std::optional<T> value;
      {
        absl::MutexLock lock(&state_->mu);
        if (state_->buffer.empty()) {
          if (state_->senders == 0) {
            return corosched::Poll<Output>::Ready(std::nullopt);
          }
          if (!state_->receiver.WillWake(cx.waker())) {
            state_->receiver = cx.waker();
          }
          return corosched::Poll<Output>::Pending();
        }
        value.emplace(std::move(state_->buffer.front()));
        state_->buffer.pop_front();
        // Every blocked sender retries: one of them may have been dropped,
        // and waking only it would strand the rest.
        senders.swap(state_->blocked_senders);
      }
      for (Waker& sender : senders) std::move(sender).Wake();
      return corosched::Poll<Output>::Ready(std::move(value));
    }

   private:
    friend class ChannelReceiver;
    explicit RecvFuture(internal::ChannelState<T>* state) : state_(state) {}
    internal::ChannelState<T>* state_;
  };

  explicit ChannelReceiver(std::shared_ptr<internal::ChannelState<T>> state)
      : state_(std::move(state)) {}
  ChannelReceiver(ChannelReceiver&&) noexcept = default;
  ~ChannelReceiver() {
    if (state_ == nullptr) return;
    std::vector<Waker> senders;
    Waker receiver;  // released outside the lock, with the task it holds
    {
      absl::MutexLock lock(&state_->mu);
      state_->receiver_gone = true;
      senders.swap(state_->blocked_senders);
      receiver = std::move(state_->receiver);
    }
    for (Waker& sender : senders) std::move(sender).Wake();
  }

  // REQUIRES: the receiver outlives the returned future.
  RecvFuture Recv() { return RecvFuture(state_.get()); }

 private:
  std::shared_ptr<internal::ChannelState<T>> state_;
};

// A bounded channel of `capacity` (at least 1) buffered values.
// Thread-safety: both halves may be used from any thread; one mutex.
template <typename T>
std::pair<ChannelSender<T>, ChannelReceiver<T>> MakeChannel(size_t capacity) {
  auto state =
      std::make_shared<internal::ChannelState<T>>(capacity == 0 ? 1 : capacity);
  return {ChannelSender<T>(state), ChannelReceiver<T>(state)};
}

}  // namespace corosched
