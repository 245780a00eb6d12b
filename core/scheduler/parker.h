#pragma once

#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace corosched::internal {

// Puts one worker thread to sleep until it is unparked. An Unpark that
// arrives before Park makes that Park return at once (a token, as
// std::thread::park has), so no unpark is lost.
//
// One atomic word and a futex, as Rust's std::thread::park does on Linux
// (EMPTY, NOTIFIED, PARKED), after a short spin: Park first watches the
// word for a moment (kPauses CPU pauses, under a microsecond, then
// `yields` sched_yield calls), because work often arrives within
// microseconds and a futex sleep and wake-up costs two context switches.
// Unpark makes a system call only when the worker really sleeps. The spin
// is short because a spinning vCPU takes time from the thread that would
// feed it: with 64 pauses (about 3 us) a plain thread spawning a million
// tasks made the worker park 14 times per thousand, with 16 pauses 5
// times, and spawned 2.9 -> 3.4 M tasks/s (1 worker); 256 pauses fell to
// 2.0 M/s.
//
// Thread-safety: Park only on the owning worker; Unpark from any thread.
class Parker {
 public:
  explicit Parker(int yields = 0) : yields_(yields) {}

  void Park() {
    // The acquires pair with Unpark's release: what the unparker did
    // before Unpark is visible after Park returns.
    for (int spin = 0; spin < kPauses + yields_; ++spin) {
      // A read-modify-write, not a store: it synchronises with the last
      // Unpark before it, however many there were.
      if (state_.load(std::memory_order_relaxed) == kNotified &&
          state_.exchange(kEmpty, std::memory_order_acquire) == kNotified) {
        return;
      }
      if (spin < kPauses) {
        Pause();
      } else {
        sched_yield();
      }
    }
    // NOTIFIED -> EMPTY: return. EMPTY -> PARKED: sleep.
    if (state_.fetch_sub(1, std::memory_order_acquire) == kNotified) return;
    for (;;) {
      // Sleeps only while the word is still PARKED; spurious returns loop.
      syscall(SYS_futex, reinterpret_cast<int32_t*>(&state_),
              FUTEX_WAIT_PRIVATE, kParked, nullptr, nullptr, 0);
      int32_t notified = kNotified;
      if (state_.compare_exchange_strong(notified, kEmpty,
                                         std::memory_order_acquire)) {
        return;
      }
    }
  }

  void Unpark() {
    if (state_.exchange(kNotified, std::memory_order_release) == kParked) {
      syscall(SYS_futex, reinterpret_cast<int32_t*>(&state_),
              FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    }
  }

 private:
  static constexpr int32_t kParked = -1;
  static constexpr int32_t kEmpty = 0;
  static constexpr int32_t kNotified = 1;
  static constexpr int kPauses = 16;

  static void Pause() {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  }

  static_assert(sizeof(std::atomic<int32_t>) == sizeof(int32_t) &&
                std::atomic<int32_t>::is_always_lock_free);
  const int yields_;
  std::atomic<int32_t> state_{kEmpty};
};

}  // namespace corosched::internal
