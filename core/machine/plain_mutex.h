#pragma once

#include <mutex>

#include "absl/base/thread_annotations.h"

namespace corosched::machine {

// A mutex for a lock taken on every poll of a task (MachineTask). It is
// std::mutex with Abseil's thread-safety annotations, so -Wthread-safety
// checks its users as it checks absl::Mutex's.
//
// Why not absl::Mutex, the project's mutex: Debian's build of Abseil
// 20220623 runs the deadlock detector in every Lock and Unlock and registers
// each mutex in its graph (measured: ~85 ns per uncontended lock and unlock,
// ~25 ns more to destroy a used mutex, against ~15 ns for std::mutex), which
// alone would exceed what an interpreted state transition may cost next to
// the executor's own ~50 ns per poll. Use absl::Mutex everywhere else.
//
// Thread-safety: a mutex; not recursive.
class ABSL_LOCKABLE PlainMutex {
 public:
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mu_.lock(); }
  void Unlock() ABSL_UNLOCK_FUNCTION() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

// Holds a PlainMutex for its scope, like absl::MutexLock.
class ABSL_SCOPED_LOCKABLE PlainMutexLock {
 public:
  explicit PlainMutexLock(PlainMutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu)
      : mu_(mu) {
    mu_->Lock();
  }
  PlainMutexLock(const PlainMutexLock&) = delete;
  PlainMutexLock& operator=(const PlainMutexLock&) = delete;
  ~PlainMutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }

 private:
  PlainMutex* const mu_;
};

}  // namespace corosched::machine
