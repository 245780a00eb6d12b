#pragma once

#include <atomic>
#include <cstdio>
#include <cstdlib>

#include "absl/synchronization/mutex.h"
#include "core/task/future.h"

namespace corosched {

namespace internal {

// Parks a plain thread until a Waker made by it is woken. Reference counted
// by its Wakers and by BlockOn; freed with the last reference.
class ThreadNotifier {
 public:
  // A notifier with one reference, owned by the caller.
  static ThreadNotifier* New() { return new ThreadNotifier(); }

  Waker NewWaker();
  // Blocks until a wake since the last Wait(), then consumes it.
  void Wait();
  void Notify();
  void Unref();

 private:
  ThreadNotifier() = default;

  absl::Mutex mu_;
  absl::CondVar cv_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
  // Relaxed increments: a new reference is made only from an existing one.
  std::atomic<int> refs_{1};

  friend struct ThreadNotifierVTable;
};

// True on a worker thread of any executor; blocking there stalls its tasks.
bool OnWorkerThread();

}  // namespace internal

// Drives `future` to completion on the calling plain thread, sleeping while
// it is Pending. For tests, main() and other non-executor threads.
//
// REQUIRES: not called on an executor worker thread (it would block the
// worker that may be needed to make progress); checked, and fatal.
template <Future F>
typename F::Output BlockOn(F& future) {
  if (internal::OnWorkerThread()) {
    std::fprintf(stderr, "BlockOn called on an executor worker thread\n");
    std::abort();
  }
  internal::ThreadNotifier* notifier = internal::ThreadNotifier::New();
  Waker waker = notifier->NewWaker();
  Context cx(waker);
  for (;;) {
    auto poll = future.Poll(cx);
    if (poll.IsReady()) {
      notifier->Unref();
      if constexpr (std::is_void_v<typename F::Output>) {
        return;
      } else {
        return std::move(poll).value();
      }
    }
    notifier->Wait();
  }
}

template <Future F>
requires(!std::is_reference_v<F>) typename F::Output BlockOn(F&& future) {
  F local(std::forward<F>(future));
  return BlockOn(local);
}

}  // namespace corosched
