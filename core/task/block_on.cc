#include "core/task/block_on.h"

namespace corosched::internal {

struct ThreadNotifierVTable {
  static ThreadNotifier* Get(const void* data) {
    return static_cast<ThreadNotifier*>(const_cast<void*>(data));
  }
  static void Clone(const void* data) {
    Get(data)->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  static void Wake(const void* data) {
    Get(data)->Notify();
    Get(data)->Unref();
  }
  static void WakeByRef(const void* data) { Get(data)->Notify(); }
  static void Drop(const void* data) { Get(data)->Unref(); }
  static constexpr WakerVTable kVTable = {&Clone, &Wake, &WakeByRef, &Drop};
};

Waker ThreadNotifier::NewWaker() {
  refs_.fetch_add(1, std::memory_order_relaxed);
  return Waker::FromRaw(&ThreadNotifierVTable::kVTable, this);
}

void ThreadNotifier::Wait() {
  absl::MutexLock lock(&mu_);
  while (!notified_) cv_.Wait(&mu_);
  notified_ = false;
}

void ThreadNotifier::Notify() {
  absl::MutexLock lock(&mu_);
  notified_ = true;
  cv_.Signal();
}

void ThreadNotifier::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) delete this;
}

}  // namespace corosched::internal
