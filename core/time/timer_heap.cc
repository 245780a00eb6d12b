#include "core/time/timer_heap.h"

#include <cassert>
#include <utility>

namespace corosched::internal {

void TimerHeap::Push(TimerEntry* entry) {
  assert(entry->heap_index == TimerEntry::kNotQueued);
  entry->heap_index = heap_.size();
  heap_.push_back(entry);
  SiftUp(entry->heap_index);
}

void TimerHeap::Remove(TimerEntry* entry) {
  const size_t index = entry->heap_index;
  assert(index < heap_.size() && heap_[index] == entry);
  const size_t last = heap_.size() - 1;
  if (index != last) Swap(index, last);
  heap_.pop_back();
  entry->heap_index = TimerEntry::kNotQueued;
  if (index < heap_.size()) {
    SiftUp(index);
    SiftDown(index);
  }
}

void TimerHeap::Swap(size_t a, size_t b) {
  std::swap(heap_[a], heap_[b]);
  heap_[a]->heap_index = a;
  heap_[b]->heap_index = b;
}

void TimerHeap::SiftUp(size_t index) {
  while (index > 0) {
    const size_t parent = (index - 1) / 2;
    if (!Less(index, parent)) return;
    Swap(index, parent);
    index = parent;
  }
}

void TimerHeap::SiftDown(size_t index) {
  for (;;) {
    const size_t left = 2 * index + 1;
    const size_t right = left + 1;
    size_t smallest = index;
    if (left < heap_.size() && Less(left, smallest)) smallest = left;
    if (right < heap_.size() && Less(right, smallest)) smallest = right;
    if (smallest == index) return;
    Swap(index, smallest);
    index = smallest;
  }
}

}  // namespace corosched::internal
