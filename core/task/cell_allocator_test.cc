#include "core/task/cell_allocator.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"

namespace corosched::internal {
namespace {

bool Aligned(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % CellAllocator::kLine == 0;
}

TEST(CellAllocatorTest, LargerCellsComeFromOperatorNew) {
  for (size_t size : {257, 384, 1000}) {
    void* p = CellAllocator::Allocate(size);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignof(std::max_align_t), 0u);
    std::memset(p, 0xab, size);
    CellAllocator::Deallocate(p, size);
  }
}

TEST(CellAllocatorTest, EverySmallCellIsLineAlignedAndDistinct) {
  for (size_t size : {1, 63, 64, 65, 96, 128, 129, 200, 256}) {
    std::vector<void*> cells;
    std::set<uintptr_t> seen;
    for (int i = 0; i < 3 * CellAllocator::kBatch; ++i) {
      void* p = CellAllocator::Allocate(size);
      EXPECT_TRUE(Aligned(p)) << "size " << size;
      // Distinct and not overlapping: slots of one class never share a line.
      const auto at = reinterpret_cast<uintptr_t>(p);
      auto next = seen.lower_bound(at);
      if (next != seen.end()) {
        EXPECT_GE(*next, at + CellAllocator::SlotBytes(size));
      }
      if (next != seen.begin()) {
        EXPECT_LE(*std::prev(next) + CellAllocator::SlotBytes(size), at);
      }
      seen.insert(at);
      std::memset(p, 0xab, size);  // the whole requested size is writable
      cells.push_back(p);
    }
    for (void* p : cells) CellAllocator::Deallocate(p, size);
  }
}

TEST(CellAllocatorTest, SlotSizesAreWholeLines) {
  EXPECT_EQ(CellAllocator::SlotBytes(1), 64u);
  EXPECT_EQ(CellAllocator::SlotBytes(64), 64u);
  EXPECT_EQ(CellAllocator::SlotBytes(65), 128u);
  EXPECT_EQ(CellAllocator::SlotBytes(160), 192u);
  EXPECT_EQ(CellAllocator::SlotBytes(256), 256u);
}

TEST(CellAllocatorTest, AFreedSlotIsReusedBeforeAnyNewSlab) {
  if (!CellAllocator::UsesSlabs()) GTEST_SKIP() << "cells come from new";
  void* first = CellAllocator::Allocate(100);
  CellAllocator::Deallocate(first, 100);
  const uint64_t slabs = CellAllocator::GetStats().slab_bytes;
  void* again = CellAllocator::Allocate(100);
  EXPECT_EQ(again, first);
  CellAllocator::Deallocate(again, 100);
  EXPECT_EQ(CellAllocator::GetStats().slab_bytes, slabs);
}

TEST(CellAllocatorTest, ARunDryClassCarvesSlabs) {
  if (!CellAllocator::UsesSlabs()) GTEST_SKIP() << "cells come from new";
  constexpr size_t kSize = 192;
  constexpr size_t kPerSlab = CellAllocator::kSlabBytes / kSize;
  const uint64_t before = CellAllocator::GetStats().slab_bytes;
  std::vector<void*> cells;
  // More than any free lists can hold from earlier tests: new slabs.
  for (size_t i = 0; i < 4 * kPerSlab; ++i) {
    cells.push_back(CellAllocator::Allocate(kSize));
  }
  EXPECT_GE(CellAllocator::GetStats().slab_bytes,
            before + 2 * CellAllocator::kSlabBytes);
  for (void* p : cells) CellAllocator::Deallocate(p, kSize);
}

// A thread that exits hands its free slots back: another thread reuses
// them without carving a slab.
TEST(CellAllocatorTest, AnExitingThreadsSlotsServeOtherThreads) {
  if (!CellAllocator::UsesSlabs()) GTEST_SKIP() << "cells come from new";
  constexpr size_t kSize = 256;
  constexpr int kCells = 1000;
  // Takes kCells cells, frees them all, and exits.
  const auto churn = [] {
    std::vector<void*> cells;
    cells.reserve(kCells);
    for (int i = 0; i < kCells; ++i) {
      cells.push_back(CellAllocator::Allocate(kSize));
    }
    for (void* p : cells) CellAllocator::Deallocate(p, kSize);
  };
  std::thread(churn).join();
  const uint64_t slabs = CellAllocator::GetStats().slab_bytes;
  std::thread(churn).join();
  EXPECT_EQ(CellAllocator::GetStats().slab_bytes, slabs);
}

// Cells allocated on one thread and freed on another, from four threads at
// once (run under ThreadSanitizer in `make test`): no cell is handed out
// twice while live, and each keeps what its owner wrote.
TEST(CellAllocatorTest, CellsFreedOnOtherThreadsAreNeverHandedOutTwice) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 200;
  constexpr int kCellsPerRound = 50;
  constexpr size_t kSize = 120;
  absl::Mutex mu;
  std::vector<std::pair<void*, uint64_t>> handed;  // guarded by mu
  std::set<void*> live;                            // guarded by mu
  int duplicates = 0;
  int corrupted = 0;
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < kRounds; ++round) {
        std::vector<std::pair<void*, uint64_t>> mine;
        for (int i = 0; i < kCellsPerRound; ++i) {
          void* p = CellAllocator::Allocate(kSize);
          const uint64_t stamp =
              (uint64_t(t) << 32) | uint64_t(round * 100 + i);
          std::memcpy(static_cast<char*>(p) + 64, &stamp, sizeof stamp);
          mine.emplace_back(p, stamp);
        }
        std::vector<std::pair<void*, uint64_t>> theirs;
        {
          absl::MutexLock lock(&mu);
          for (auto& [p, stamp] : mine) {
            if (!live.insert(p).second) ++duplicates;
            handed.emplace_back(p, stamp);
          }
          // Free what others handed over (and some of our own).
          const size_t take = handed.size() / 2;
          theirs.assign(handed.end() - static_cast<std::ptrdiff_t>(take),
                        handed.end());
          handed.resize(handed.size() - take);
          for (auto& [p, stamp] : theirs) live.erase(p);
        }
        for (auto& [p, stamp] : theirs) {
          uint64_t seen = 0;
          std::memcpy(&seen, static_cast<char*>(p) + 64, sizeof seen);
          if (seen != stamp) {
            absl::MutexLock lock(&mu);
            ++corrupted;
          }
          CellAllocator::Deallocate(p, kSize);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (auto& [p, stamp] : handed) CellAllocator::Deallocate(p, kSize);
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(corrupted, 0);
}

}  // namespace
}  // namespace corosched::internal
