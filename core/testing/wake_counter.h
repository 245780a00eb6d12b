#pragma once

#include "core/task/waker.h"

namespace corosched::testing {

// A wake target that counts wakes and the references its Wakers hold.
struct WakeCounter {
  int wakes = 0;
  int refs = 1;  // the test's own Waker
};

inline WakeCounter* Counter(const void* data) {
  return static_cast<WakeCounter*>(const_cast<void*>(data));
}

inline constexpr WakerVTable kCounterVTable = {
    [](const void* data) { ++Counter(data)->refs; },
    [](const void* data) {
      ++Counter(data)->wakes;
      --Counter(data)->refs;
    },
    [](const void* data) { ++Counter(data)->wakes; },
    [](const void* data) { --Counter(data)->refs; },
};

// One party polling futures by hand: its counter and the Waker it polls
// with. Declare it before the futures it polls, so its counter outlives the
// Wakers they keep. Single-threaded: the counts are plain ints.
struct Party {
  WakeCounter counter;
  Waker waker = Waker::FromRaw(&kCounterVTable, &counter);

  template <typename F>
  auto Poll(F& future) {
    Context cx(waker);
    return future.Poll(cx);
  }
};

}  // namespace corosched::testing
