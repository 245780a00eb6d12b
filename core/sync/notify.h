#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "core/task/future.h"

namespace corosched {

// A wake signal between tasks (Tokio's `Notify`): tasks await Notified();
// NotifyOne() wakes one of them, or, when none waits, leaves a permit so the
// next Notified() completes at once. Permits do not accumulate: many
// NotifyOne() calls with no waiter leave one.
//
// A waiter that was chosen by NotifyOne() but is dropped before it observed
// the notification passes it on to the next waiter (or back to the permit),
// so a notification is never lost to a cancelled waiter.
//
// Thread-safety: all methods from any thread. The Notify must outlive its
// Notified futures.
class Notify {
 public:
  class Notified;

  Notify() = default;
  Notify(const Notify&) = delete;
  Notify& operator=(const Notify&) = delete;

  void NotifyOne();
  // Wakes every current waiter; leaves no permit.
  void NotifyAll();
  // A future that completes on a later NotifyOne/NotifyAll (or at once, by
  // consuming a stored permit).
  Notified Wait();

 private:
  enum class Woken { kNo, kByOne, kByAll };
  struct Waiter {
    Waker waker;
    Woken woken = Woken::kNo;
    Waiter* prev = nullptr;
    Waiter* next = nullptr;
  };

  void Link(Waiter* waiter) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unlink(Waiter* waiter) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Takes the oldest waiter and returns its waker to wake after unlocking,
  // or stores the permit.
  Waker NotifyOneLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  bool permit_ ABSL_GUARDED_BY(mu_) = false;
  Waiter* head_ ABSL_GUARDED_BY(mu_) = nullptr;  // oldest
  Waiter* tail_ ABSL_GUARDED_BY(mu_) = nullptr;

  friend class Notified;
};

class Notify::Notified {
 public:
  using Output = void;

  // A registered waiter is relinked into the Notify's list under its lock,
  // so a Notified may move even after it returned Pending; the moved-from
  // one is empty and its destructor does nothing.
  Notified(Notified&& other) noexcept;
  Notified& operator=(Notified&&) = delete;
  ~Notified();

  corosched::Poll<void> Poll(Context& cx);

 private:
  friend class Notify;
  explicit Notified(Notify* notify) : notify_(notify) {}

  Notify* notify_;  // null once moved from
  // The list node lives in the future itself, so parking allocates nothing.
  // Guarded by notify_->mu_ once registered_.
  Waiter waiter_;
  bool registered_ = false;  // waiter_ was linked by a Pending poll
  bool done_ = false;
};

}  // namespace corosched
