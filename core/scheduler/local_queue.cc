#include "core/scheduler/local_queue.h"

#include <cassert>

#include "core/scheduler/inject_queue.h"

namespace corosched::internal {

void LocalQueue::PushBack(TaskHeader* task, InjectQueue& overflow) {
  for (;;) {
    const uint64_t head = head_.load(std::memory_order_acquire);
    const uint32_t steal = Steal(head);
    // Only this thread writes tail_, so a relaxed load sees its own store.
    const uint32_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - steal < kCapacity) {
      buffer_[tail & kMask].store(task, std::memory_order_relaxed);
      tail_.store(tail + 1, std::memory_order_release);
      return;
    }
    if (steal != Real(head)) {
      // A stealer is draining the queue; it will make room, but we must not
      // wait for it. The overflow queue keeps the task.
      overflow.Push(task);
      return;
    }
    if (PushOverflow(task, Real(head), tail, overflow)) return;
    // A stealer took tasks meanwhile, so there is room now: retry.
  }
}

bool LocalQueue::PushOverflow(TaskHeader* task, uint32_t head,
                              [[maybe_unused]] uint32_t tail,
                              InjectQueue& overflow) {
  constexpr uint32_t kHalf = kCapacity / 2;
  assert(tail - head == kCapacity);
  uint64_t expected = Pack(head, head);
  if (!head_.compare_exchange_strong(expected, Pack(head + kHalf, head + kHalf),
                                     std::memory_order_release,
                                     std::memory_order_relaxed)) {
    return false;
  }
  // The claimed half is ours alone now; link it into a batch.
  TaskHeader* first = buffer_[head & kMask].load(std::memory_order_relaxed);
  TaskHeader* last = first;
  for (uint32_t i = 1; i < kHalf; ++i) {
    TaskHeader* next =
        buffer_[(head + i) & kMask].load(std::memory_order_relaxed);
    last->queue_next = next;
    last = next;
  }
  last->queue_next = task;
  overflow.PushBatch(first, task, kHalf + 1);
  return true;
}

TaskHeader* LocalQueue::Pop() {
  uint64_t head = head_.load(std::memory_order_acquire);
  for (;;) {
    const uint32_t steal = Steal(head);
    const uint32_t real = Real(head);
    const uint32_t tail = tail_.load(std::memory_order_relaxed);
    if (real == tail) return nullptr;
    const uint32_t next_real = real + 1;
    // While a stealer holds [steal, real) only `real` may advance.
    const uint64_t next =
        steal == real ? Pack(next_real, next_real) : Pack(steal, next_real);
    if (head_.compare_exchange_weak(head, next, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      return buffer_[real & kMask].load(std::memory_order_relaxed);
    }
  }
}

TaskHeader* LocalQueue::StealInto(LocalQueue& dst) {
  const uint32_t dst_tail = dst.tail_.load(std::memory_order_relaxed);
  const uint32_t dst_steal = Steal(dst.head_.load(std::memory_order_acquire));
  if (dst_tail - dst_steal > kCapacity / 2) {
    return nullptr;  // our own queue has no room for half of theirs
  }
  uint32_t count = StealInto2(dst, dst_tail);
  if (count == 0) return nullptr;
  // Hand back the last stolen task and publish the rest in our queue.
  --count;
  TaskHeader* task =
      dst.buffer_[(dst_tail + count) & kMask].load(std::memory_order_relaxed);
  if (count > 0) dst.tail_.store(dst_tail + count, std::memory_order_release);
  return task;
}

uint32_t LocalQueue::StealInto2(LocalQueue& dst, uint32_t dst_tail) {
  uint64_t prev = head_.load(std::memory_order_acquire);
  uint64_t next;
  uint32_t count;
  // Step 1: claim [real, real + count) by advancing `real` and leaving
  // `steal` behind, which stops the owner from reusing those slots.
  for (;;) {
    const uint32_t steal = Steal(prev);
    const uint32_t real = Real(prev);
    if (steal != real) return 0;  // another stealer is at work
    const uint32_t tail = tail_.load(std::memory_order_acquire);
    count = tail - real;
    count -= count / 2;
    if (count == 0) return 0;
    next = Pack(steal, real + count);
    if (head_.compare_exchange_weak(prev, next, std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      break;
    }
  }
  // Step 2: copy the claimed slots into our own queue (not yet published).
  const uint32_t first = Steal(next);
  for (uint32_t i = 0; i < count; ++i) {
    TaskHeader* task =
        buffer_[(first + i) & kMask].load(std::memory_order_relaxed);
    dst.buffer_[(dst_tail + i) & kMask].store(task, std::memory_order_relaxed);
  }
  // Step 3: release the claim (steal = real). The owner may have popped
  // meanwhile, moving `real`, so retry with what it left.
  prev = next;
  for (;;) {
    const uint32_t real = Real(prev);
    if (head_.compare_exchange_weak(prev, Pack(real, real),
                                    std::memory_order_acq_rel,
                                    std::memory_order_acquire)) {
      return count;
    }
    assert(Steal(prev) != Real(prev));
  }
}

size_t LocalQueue::Len() const {
  const uint64_t head = head_.load(std::memory_order_acquire);
  const uint32_t tail = tail_.load(std::memory_order_acquire);
  return tail - Real(head);
}

}  // namespace corosched::internal
