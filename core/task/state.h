#pragma once

#include <atomic>
#include <cstdint>

namespace corosched::internal {

// The lifecycle of one task as a single atomic word, after Tokio's
// `runtime/task/state.rs`.
//
// Bits:
//   kRunning      a worker (or the shutdown sweep) owns the task and is
//                 polling or cancelling it.
//   kComplete     the future is gone; the output (if any) is stored.
//   kNotified     a wake arrived; a reference to the task sits in a run
//                 queue, or will once the current poll ends.
//   kCancelled    cancellation was requested; the owner drops the future
//                 instead of polling it.
//   kJoinInterest a JoinHandle exists and will read the output.
//   kJoinWaker    the JoinHandle stored a Waker in the task header.
//   bits 6..63    reference count (kRefOne per reference).
//
// References are held by: the JoinHandle, each Waker, the owned-task list,
// and the run queue entry created when the task is notified (which becomes
// the "running" reference while it is polled). The task is freed when the
// count reaches zero, so it is never freed while a Waker or handle refers
// to it.
//
// Transition table (state before -> after, and what the caller must do):
//
//   TransitionToRunning   (worker takes a queue entry)
//     idle+notified        -> running, notified cleared      kSuccess: poll
//     idle+notified+cancel -> running                        kCancelled: cancel
//     running or complete  -> ref-1                          kFailed/kDealloc
//   TransitionToIdle      (poll returned Pending)
//     running+cancelled    -> unchanged                      kCancelled: cancel
//     running+notified     -> not running, still notified    kNotified:
//     requeue,
//                             (the running ref becomes the queue entry's ref)
//     running              -> idle, ref-1                    kIdle / kDealloc
//   TransitionToComplete  running -> complete (not running)
//   TransitionToNotifiedByRef (Waker::WakeByRef)
//     complete or notified -> unchanged                      kDoNothing
//     running              -> +notified                      kDoNothing: the
//                             poller requeues it after the poll (exactly one
//                             more poll)
//     idle                 -> +notified, ref+1               kSubmit
//   TransitionToNotifiedByVal (Waker::Wake, consumes the Waker's ref)
//     as ByRef, but the Waker's reference is released instead of a new one
//     being taken when a queue entry is created.
//   TransitionToNotifiedAndCancel (JoinHandle::Cancel)
//     complete or cancelled-> unchanged                      false
//     running              -> +cancelled+notified            false: the poller
//                             cancels after the poll
//     notified             -> +cancelled                     false: the queued
//                             entry cancels when it runs
//     idle                 -> +cancelled+notified, ref+1     true: submit
//   TransitionToShutdown  (executor shutdown sweep)
//     idle                 -> +cancelled+running             true: the caller
//                             owns the task and cancels it
//     otherwise            -> +cancelled                     false
//
// Every read-modify-write is acq_rel: a transition both publishes what the
// thread did to the task before it (the stored output, the join waker) and
// acquires what the previous owner did. Reference increments are relaxed,
// as for shared_ptr: taking a new reference requires already holding one.
class TaskState {
 public:
  static constexpr uint64_t kRunning = 1u << 0;
  static constexpr uint64_t kComplete = 1u << 1;
  static constexpr uint64_t kNotified = 1u << 2;
  static constexpr uint64_t kCancelled = 1u << 3;
  static constexpr uint64_t kJoinInterest = 1u << 4;
  static constexpr uint64_t kJoinWaker = 1u << 5;
  static constexpr int kRefShift = 6;
  static constexpr uint64_t kRefOne = uint64_t{1} << kRefShift;
  static constexpr uint64_t kLifecycleMask = kRunning | kComplete;

  // A new task: referenced by its JoinHandle, its first run-queue entry and
  // the owned-task list; notified (it is about to be queued).
  static constexpr uint64_t kInitial = 3 * kRefOne | kJoinInterest | kNotified;

  enum class RunResult { kSuccess, kCancelled, kFailed, kDealloc };
  enum class IdleResult { kIdle, kNotified, kCancelled, kDealloc };
  enum class NotifyResult { kDoNothing, kSubmit, kDealloc };

  TaskState() : word_(kInitial) {}

  uint64_t Load() const { return word_.load(std::memory_order_acquire); }
  static uint64_t RefCount(uint64_t word) { return word >> kRefShift; }

  RunResult TransitionToRunning();
  IdleResult TransitionToIdle();
  // Returns the word before the transition (its join bits say who to tell).
  // REQUIRES: the caller owns the task (kRunning).
  uint64_t TransitionToComplete();
  // Drops `count` references; true when they were the last.
  bool TransitionToTerminal(uint64_t count);

  NotifyResult TransitionToNotifiedByRef();
  NotifyResult TransitionToNotifiedByVal();
  bool TransitionToNotifiedAndCancel();
  bool TransitionToShutdown();

  // JoinHandle side. Each returns false when the task completed first, in
  // which case the JoinHandle must read (or drop) the output itself.
  bool UnsetJoinInterest();
  bool SetJoinWaker();
  bool UnsetJoinWaker();

  void RefInc();
  // True when this was the last reference.
  bool RefDec();

 private:
  std::atomic<uint64_t> word_;
};

}  // namespace corosched::internal
