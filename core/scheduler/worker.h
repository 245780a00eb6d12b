#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

#include "core/scheduler/local_queue.h"
#include "core/scheduler/parker.h"
#include "core/task/header.h"

namespace corosched::internal {

class Scheduler;

// One worker thread: runs tasks from its LIFO slot, its local queue, the
// injection queue, and other workers' queues (stealing), and parks when
// there is nothing anywhere.
//
// Order of looking for work, after Tokio's multi-threaded scheduler:
//   1. every kGlobalQueueInterval-th tick the injection queue first, so
//      outside work is not starved by a busy local queue;
//   2. the LIFO slot (the task most recently woken by this worker: warm in
//      cache), at most kMaxLifoPolls times in a row;
//   3. the local queue, then the injection queue: from a queue of at
//      least kInjectBatchFrom tasks (a thread spawning faster than the
//      workers run), a batch (its length over the number of workers, at
//      most half the local queue's capacity) in one lock; from a shorter
//      one, one task, so the few tasks the daemon's gRPC threads queue
//      spread over the workers instead of queuing behind one;
//   4. stealing half of another worker's queue (while "searching");
//   5. parking.
//
// Thread-safety: ScheduleLocal and Run on the worker's own thread; queue(),
// Unpark() and the counters from any thread.
class Worker {
 public:
  // `park_yields`: see ExecutorOptions.
  Worker(Scheduler* scheduler, int index, int park_yields = 0);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void Start();
  void Join();

  // Queues a task woken or spawned on this worker's own thread.
  void ScheduleLocal(TaskHeader* task, bool is_yield);

  Scheduler* scheduler() const { return scheduler_; }
  LocalQueue& queue() { return queue_; }
  void Unpark() { parker_.Unpark(); }

  uint64_t polls() const { return polls_.load(std::memory_order_relaxed); }
  uint64_t steals() const { return steals_.load(std::memory_order_relaxed); }
  uint64_t parks() const { return parks_.load(std::memory_order_relaxed); }

  // The worker whose thread this is, or nullptr.
  static Worker* Current();

 private:
  static constexpr uint32_t kGlobalQueueInterval = 61;
  static constexpr int kMaxLifoPolls = 3;
  // Batches of the daemon's short injection queue cost it about 4 us of
  // CPU per submit (more wake-ups and steals); a spawning thread's flood
  // gains 20% from them.
  static constexpr size_t kInjectBatchFrom = 64;

  void Run();
  TaskHeader* NextTask();
  TaskHeader* StealWork();
  // Step 3's batch from the injection queue: returns the first task and
  // queues the rest locally.
  TaskHeader* PopInjectBatch();
  void RunTaskAndCount(TaskHeader* task);
  void Park();
  void DrainOnExit();
  // Owner-only counters: a relaxed load and store, no locked instruction.
  static void Bump(std::atomic<uint64_t>& counter) {
    counter.store(counter.load(std::memory_order_relaxed) + 1,
                  std::memory_order_relaxed);
  }

  Scheduler* const scheduler_;
  const int index_;
  LocalQueue queue_;
  Parker parker_;
  std::thread thread_;

  // Owner-thread state.
  TaskHeader* lifo_slot_ = nullptr;
  int lifo_polls_ = 0;
  uint32_t tick_ = 0;
  bool is_searching_ = false;
  uint64_t rng_;

  alignas(64) std::atomic<uint64_t> polls_{0};
  std::atomic<uint64_t> steals_{0};
  std::atomic<uint64_t> parks_{0};
};

}  // namespace corosched::internal
