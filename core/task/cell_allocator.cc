#include "core/task/cell_allocator.h"

#include <atomic>
#include <new>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace corosched::internal {
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kUseSlabs = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kUseSlabs = false;
#else
constexpr bool kUseSlabs = true;
#endif
#else
constexpr bool kUseSlabs = true;
#endif

constexpr std::align_val_t kAlign{CellAllocator::kLine};

// A free slot's first bytes link it to the next.
struct FreeSlot {
  FreeSlot* next;
};

// An intrusive LIFO of free slots.
class FreeList {
 public:
  bool empty() const { return head_ == nullptr; }
  int size() const { return size_; }

  void Push(void* p) {
    auto* slot = static_cast<FreeSlot*>(p);
    slot->next = head_;
    head_ = slot;
    ++size_;
  }

  void* Pop() {
    FreeSlot* slot = head_;
    head_ = slot->next;
    --size_;
    return slot;
  }

  // Moves min(n, size()) slots from the front of this list to `to`.
  void MoveTo(FreeList& to, int n) {
    if (n > size_) n = size_;
    if (n == 0) return;
    FreeSlot* first = head_;
    FreeSlot* last = first;
    for (int i = 1; i < n; ++i) last = last->next;
    head_ = last->next;
    size_ -= n;
    last->next = to.head_;
    to.head_ = first;
    to.size_ += n;
  }

 private:
  FreeSlot* head_ = nullptr;
  int size_ = 0;
};

struct GlobalClass {
  absl::Mutex mu;
  FreeList free ABSL_GUARDED_BY(mu);
};

struct Global {
  GlobalClass classes[CellAllocator::kClasses];
  std::atomic<uint64_t> slab_bytes{0};
};

// Never destroyed: threads that exit after main() returns still hand their
// slots back, and the slabs stay reachable (no leak report).
Global& TheGlobal() {
  static Global* const global = new Global;
  return *global;
}

size_t ClassOf(size_t size) { return (size - 1) / CellAllocator::kLine; }

// Fills `to` with up to kBatch slots of class `c`, carving a slab when the
// global list is empty.
void Refill(size_t c, FreeList& to) {
  GlobalClass& global = TheGlobal().classes[c];
  absl::MutexLock lock(&global.mu);
  if (global.free.empty()) {
    const size_t slot = (c + 1) * CellAllocator::kLine;
    auto* slab =
        static_cast<char*>(::operator new(CellAllocator::kSlabBytes, kAlign));
    TheGlobal().slab_bytes.fetch_add(CellAllocator::kSlabBytes,
                                     std::memory_order_relaxed);
    // Pushed from the end, so slots are handed out in address order.
    for (size_t offset = CellAllocator::kSlabBytes / slot * slot;
         offset >= slot; offset -= slot) {
      global.free.Push(slab + offset - slot);
    }
  }
  global.free.MoveTo(to, CellAllocator::kBatch);
}

void Spill(size_t c, FreeList& from, int n) {
  GlobalClass& global = TheGlobal().classes[c];
  absl::MutexLock lock(&global.mu);
  from.MoveTo(global.free, n);
}

struct ThreadCache {
  FreeList lists[CellAllocator::kClasses];
  ~ThreadCache();
};

// Set once this thread's cache is destroyed: later calls on the thread (from
// other thread-local destructors) use the global lists directly.
thread_local bool tls_cache_gone = false;
thread_local ThreadCache tls_cache;

ThreadCache::~ThreadCache() {
  for (size_t c = 0; c < CellAllocator::kClasses; ++c) {
    Spill(c, lists[c], lists[c].size());
  }
  tls_cache_gone = true;
}

}  // namespace

void* CellAllocator::Allocate(size_t size) {
  // Larger cells as any object: aligning them would cost memalign's slack
  // for every one (about 100 bytes per daemon task) to unshare two lines.
  if (size > kMaxSlot) return ::operator new(size);
  if (!kUseSlabs || size == 0) return ::operator new(SlotBytes(size), kAlign);
  const size_t c = ClassOf(size);
  if (tls_cache_gone) {
    FreeList one;
    Refill(c, one);
    void* p = one.Pop();
    Spill(c, one, one.size());
    return p;
  }
  FreeList& list = tls_cache.lists[c];
  if (list.empty()) Refill(c, list);
  return list.Pop();
}

void CellAllocator::Deallocate(void* p, size_t size) {
  if (size > kMaxSlot) {
    ::operator delete(p);
    return;
  }
  if (!kUseSlabs || size == 0) {
    ::operator delete(p, kAlign);
    return;
  }
  const size_t c = ClassOf(size);
  if (tls_cache_gone) {
    FreeList one;
    one.Push(p);
    Spill(c, one, 1);
    return;
  }
  FreeList& list = tls_cache.lists[c];
  list.Push(p);
  if (list.size() > kThreadCacheSlots) Spill(c, list, kBatch);
}

bool CellAllocator::UsesSlabs() { return kUseSlabs; }

CellAllocator::Stats CellAllocator::GetStats() {
  return {.slab_bytes = TheGlobal().slab_bytes.load(std::memory_order_relaxed)};
}

}  // namespace corosched::internal
