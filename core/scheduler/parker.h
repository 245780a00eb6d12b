#pragma once

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace corosched::internal {

// Puts one worker thread to sleep until it is unparked. An Unpark that
// arrives before Park makes that Park return at once (a token, as
// std::thread::park has), so no unpark is lost.
//
// Thread-safety: Park only on the owning worker; Unpark from any thread.
class Parker {
 public:
  void Park() {
    absl::MutexLock lock(&mu_);
    while (!notified_) cv_.Wait(&mu_);
    notified_ = false;
  }

  void Unpark() {
    absl::MutexLock lock(&mu_);
    notified_ = true;
    cv_.Signal();
  }

 private:
  absl::Mutex mu_;
  absl::CondVar cv_;
  bool notified_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace corosched::internal
