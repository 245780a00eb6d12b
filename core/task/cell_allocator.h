#pragma once

// Memory for small task cells: slots of whole cache lines, 64-byte aligned,
// so two tasks never share a line.
//
// Why: cells from malloc are 16-byte aligned and packed back to back, so a
// 96-byte task shares a cache line with its neighbour. When two workers
// poll neighbouring tasks, each state transition moves that line between
// their cores (false sharing): 2-worker self-wake ran at 28 M wakes/s
// against 37 M with cells on their own lines. `alignas(64)` through
// aligned operator new fixes the sharing but costs memalign's slack (a
// Notify-parked task then took 136 bytes beyond its future, over the
// 128-byte target) and made spawning slower.
//
// How: size classes of 64, 128, 192 and 256 bytes. Each thread keeps a
// free list per class (at most kThreadCacheSlots); it refills from, and
// spills half to, a global list per class under a mutex, kBatch slots at a
// time. A global list that runs dry is refilled by carving a new 64 KiB
// slab. A slot freed on another thread than the one that allocated it goes
// to the freeing thread's list. Cells over 256 bytes (the daemon's
// interpreter tasks, say) come from plain operator new as before, 16-byte
// aligned: a larger cell shares lines only at its two ends, and aligning
// each would cost memalign's slack (the daemon's resident memory with a
// million waiting tasks went from 931 to 1 029 MiB when it did).
//
// Slabs are kept for the life of the process: the peak number of small
// tasks alive at once sets the memory held for them (CellAllocator::Stats).
//
// Under AddressSanitizer every cell comes from aligned operator new, so a
// use after free is still caught.
//
// Thread-safety: Allocate and Deallocate from any thread.

#include <cstddef>
#include <cstdint>

namespace corosched::internal {

class CellAllocator {
 public:
  static constexpr size_t kLine = 64;
  static constexpr size_t kMaxSlot = 256;
  static constexpr size_t kClasses = kMaxSlot / kLine;
  static constexpr size_t kSlabBytes = size_t{64} * 1024;
  static constexpr int kBatch = 32;
  static constexpr int kThreadCacheSlots = 2 * kBatch;

  // Memory for `size` bytes: 64-byte aligned up to kMaxSlot, as operator
  // new's beyond. Never returns null (throws std::bad_alloc, as operator
  // new, when memory runs out).
  static void* Allocate(size_t size);
  // REQUIRES: `p` came from Allocate(size) with the same size.
  static void Deallocate(void* p, size_t size);

  // The bytes a cell of `size` up to kMaxSlot occupies: its slot.
  static constexpr size_t SlotBytes(size_t size) {
    return (size + kLine - 1) / kLine * kLine;
  }

  // False under AddressSanitizer: every cell then comes from operator new.
  static bool UsesSlabs();

  struct Stats {
    // Bytes of slabs carved so far, over all classes.
    uint64_t slab_bytes = 0;
  };
  static Stats GetStats();
};

}  // namespace corosched::internal
