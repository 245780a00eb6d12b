#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "core/task/header.h"

namespace corosched::internal {

class InjectQueue;

// A worker's own run queue: a fixed ring of 256 task pointers that its owner
// pushes to and pops from without locks, and that other workers steal half
// of at a time (Tokio's `runtime/scheduler/multi_thread/queue.rs`).
//
// Thread-safety: PushBack and Pop only on the owning worker's thread;
// StealInto, Len and IsEmpty from any thread.
//
// Invariants:
//   `head_` packs two 32-bit positions: `steal` (high) and `real` (low).
//   Slots in [real, tail) hold queued tasks. When steal != real a stealer
//   has claimed [steal, real) and is copying it out; the owner may not
//   reuse those slots until the stealer sets steal = real. Hence the owner
//   pushes only while tail - steal < kCapacity, and only one stealer runs
//   at a time (a second sees steal != real and backs off).
//   Positions wrap modulo 2^32; all differences are unsigned.
//   Slots are relaxed atomics: they are published by the release store of
//   `tail_` (owner) and read after an acquire load of `tail_`/`head_`.
class LocalQueue {
 public:
  static constexpr uint32_t kCapacity = 256;

  LocalQueue() = default;
  LocalQueue(const LocalQueue&) = delete;
  LocalQueue& operator=(const LocalQueue&) = delete;

  // Pushes at the back; when full, moves half the queue plus `task` to
  // `overflow` in one batch. REQUIRES: owner thread.
  void PushBack(TaskHeader* task, InjectQueue& overflow);

  // Pops the front, or nullptr. REQUIRES: owner thread.
  TaskHeader* Pop();

  // Moves about half of this queue into `dst` (the caller's own queue) and
  // returns one of the moved tasks, or nullptr when there was nothing to
  // steal. REQUIRES: the calling thread owns `dst`.
  TaskHeader* StealInto(LocalQueue& dst);

  // A snapshot, for metrics and for deciding whether to look here.
  size_t Len() const;
  bool IsEmpty() const { return Len() == 0; }

 private:
  static constexpr uint32_t kMask = kCapacity - 1;

  static uint64_t Pack(uint32_t steal, uint32_t real) {
    return (uint64_t{steal} << 32) | real;
  }
  static uint32_t Steal(uint64_t head) { return uint32_t(head >> 32); }
  static uint32_t Real(uint64_t head) { return uint32_t(head); }

  // Claims half the queue for `overflow`; false when a stealer interfered.
  bool PushOverflow(TaskHeader* task, uint32_t head, uint32_t tail,
                    InjectQueue& overflow);
  // Copies up to half of this queue into `dst` at `dst_tail`; returns how
  // many were copied.
  uint32_t StealInto2(LocalQueue& dst, uint32_t dst_tail);

  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint32_t> tail_{0};
  alignas(64) std::array<std::atomic<TaskHeader*>, kCapacity> buffer_{};
};

}  // namespace corosched::internal
