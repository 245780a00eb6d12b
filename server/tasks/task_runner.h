#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/executor.h"
#include "core/machine/machine.h"
#include "core/machine/program.h"
#include "corosched/v1/scheduler.pb.h"
#include "server/metrics/server_metrics.h"
#include "server/store/cluster_store.h"
#include "server/store/task_store.h"
#include "server/tasks/delayed_calls.h"
#include "server/tasks/live_task.h"
#include "server/tasks/namespace_admission.h"
#include "server/tasks/program_cache.h"
#include "server/tasks/stream_hub.h"
#include "server/tasks/task_recorder.h"
#include "server/work/work_queues.h"
#include "server/work/work_timer.h"

namespace corosched::server {

struct StartedTask {
  // The task as the API shows it (for a new task: as submitted).
  v1::Task task;
  // False when the id named a task the same request had created before.
  bool created = false;
};

// Runs tasks on the executor and keeps the store in step with them: after
// every poll its TaskRecorder records the task's snapshot and its new events
// (output, state and status transitions, and finally its result), then
// tells the StreamHub, once the write is stored, so watchers wake up. Wakes and
// cancels of running tasks go through here too.
//
// Each task runs as a TrackedFuture wrapping the interpreter's
// MachineFuture: it passes the task's gate (not polled before its create is
// recorded, or for a daemon-chosen id, queued: see Record), honours a requested
// cancel at its next poll, waits out a delayed start, then polls the machine
// and records what changed.
//
// Nothing here waits for the store, only for short mutexes: writes are the
// store's ...Async ones, and so are the reads a submit, a wake or a cancel
// needs before it can act (GetTaskAsync, FindWakeAsync); each goes on from
// its read's answer. So neither a gRPC handler nor an executor worker ever
// waits for SQLite. Those answers come on the store's threads (or, from
// the in-memory store, at once on the caller's), so every callback here may
// run on a gRPC thread, a worker, the store's writer or a reader thread.
//
// Shutdown: after BeginShutdown, tasks the executor drops (Executor::
// Shutdown) are left as last recorded, unfinished, rather than recorded as
// cancelled: a durable store resumes them on the next start.
//
// Scale-out (a ClusterStore, docs/scale-out.md): several daemons share one
// store and each runs the tasks it holds leases for. RouteToOwners sends a
// wake or cancel of a task that is not live here to the task's inbox, for
// the daemon that runs it; Abandon drops a task whose lease was lost
// without recording anything more.
//
// Thread-safety: every method from any thread. REQUIRES: the executor is
// shut down (every future dropped) before the runner is destroyed.
class TaskRunner {
 public:
  // `metrics`, if not null, counts submitted and finished tasks and hears
  // of their signals; it must outlive the runner's tasks. `work_observer`,
  // if not null, hears of work_queues()' items; it must outlive the runner.
  TaskRunner(Executor& executor, TaskStore& store, StreamHub& hub,
             ServerMetrics* metrics = nullptr,
             WorkQueuesObserver* work_observer = nullptr);
  TaskRunner(const TaskRunner&) = delete;
  TaskRunner& operator=(const TaskRunner&) = delete;

  using StartCallback =
      absl::AnyInvocable<void(absl::StatusOr<StartedTask>) &&>;

  // Where a wake or cancel of a task that is not live here may go.
  enum class Reach {
    // After RouteToOwners, to the task's inbox, for the daemon that runs
    // it; otherwise as kHere.
    kAnyDaemon,
    // Only to a task live here (an inbox message being applied: it must
    // not be queued again). One that is not is answered from the store:
    // UNAVAILABLE while it is unfinished.
    kHere,
  };

  // Admits `machine` as task `record` (id, definition, inputs, labels,
  // created_at, start_at and fingerprint set; the snapshot is taken here),
  // records it with its first event, and lets it run. `done` gets the
  // answer once the record is stored (on disk, with a durable store),
  // possibly on one of the store's threads, possibly before Start returns.
  // A client-chosen id (record.request_fingerprint set) is looked up first
  // (GetTaskAsync), and the task admitted from the lookup's answer.
  // Errors: RESOURCE_EXHAUSTED at the admission bound, ALREADY_EXISTS for
  // an id used by a different request, ABORTED while another submit of the
  // same id is in progress, UNAVAILABLE once the executor stopped; store
  // errors (UNAVAILABLE once the store failed).
  // `slot` (namespace_admission.h) is held by the task until it ends, and
  // dropped at once if no task starts.
  void Start(TaskRecord record, std::shared_ptr<const machine::Program> program,
             machine::Machine machine, StartCallback done,
             NamespaceSlot slot = NamespaceSlot()) ABSL_LOCKS_EXCLUDED(mu_);

  // Runs a task recorded by an earlier process (recovery, before serving):
  // restores its machine from record.snapshot (variables, mailbox, timers
  // as absolute deadlines, so a sleep that expired meanwhile fires at once)
  // and spawns it without writing anything. INVALID_ARGUMENT or DATA_LOSS
  // for a snapshot the program cannot continue from; RESOURCE_EXHAUSTED at
  // the admission bound.
  absl::Status Resume(const TaskRecord& record,
                      std::shared_ptr<const machine::Program> program,
                      NamespaceSlot slot = NamespaceSlot())
      ABSL_LOCKS_EXCLUDED(mu_);

  // Delivers `signal` and answers through `done` once the wake is stored
  // (the same threading as Start's). A repeated non-empty `request_id` gets
  // the first answer back with duplicate = true, also while the first is
  // still being looked up or stored (a repeat that comes then gets the
  // first's answer, even a refusal). NOT_FOUND for an unknown task,
  // FAILED_PRECONDITION once it ended, INVALID_ARGUMENT for a signal no
  // state of its definition awaits (or a bad payload).
  //
  // A task another daemon runs (Reach::kAnyDaemon after RouteToOwners):
  // the signal is checked against the task's recorded definition as above,
  // then queued in its inbox (durably); its owner delivers it under the
  // same request id (or "inbox:<message id>"), so it is delivered once.
  // The answer is the owner's receipt once the owner has stored it, if
  // that is within a second; else BUFFERED with sequence 0 (queued, to be
  // delivered). A repeated request id is answered duplicate = true, with
  // the owner's first answer once it has recorded one.
  void Wake(const std::string& id, v1::Signal signal,
            const std::string& request_id, WakeCallback done,
            Reach reach = Reach::kAnyDaemon) ABSL_LOCKS_EXCLUDED(mu_);

  // Ends the task as CANCELLED with `reason` as its error and calls `done`
  // with it once that is recorded; with an ended task, as it is stored.
  // NOT_FOUND for an unknown task. The same threading as Start's.
  //
  // A task another daemon runs (Reach::kAnyDaemon after RouteToOwners):
  // the cancel is queued in its inbox, then the store is read, with
  // growing pauses, until the task shows ended (answered with it) or
  // ClusterRouting::cancel_wait passed: then UNAVAILABLE, saying the
  // cancel is queued and applies when the task's owner runs it (a retry
  // queues it again, which is harmless).
  void Cancel(const std::string& id, std::string reason, CancelCallback done,
              Reach reach = Reach::kAnyDaemon) ABSL_LOCKS_EXCLUDED(mu_);

  // --- Scale-out (docs/scale-out.md) ---

  struct ClusterRouting {
    // The shared store (the runner's `store`, seen as a ClusterStore).
    ClusterStore* cluster = nullptr;
    // Compiles a task's recorded definition, to check a remote wake's
    // signal against it (TaskService's cache).
    ProgramCache* programs = nullptr;
    // Paces the reads of a remote cancel waiting for the task's end.
    DelayedCalls* timer = nullptr;
    absl::Duration cancel_wait = absl::Seconds(10);
  };
  // From now on wakes and cancels reach tasks other daemons run (see Wake
  // and Cancel). REQUIRES: every pointer set and outliving the runner;
  // called before the first Wake or Cancel (it is read without a lock).
  void RouteToOwners(ClusterRouting routing) { routing_ = routing; }

  // Whether task `id` runs here now.
  bool IsLive(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_);
  // Drops live task `id` without recording anything more: its lease was
  // lost, and another daemon may run it from what is stored. Its future
  // ends at its next poll without a write (a poll in progress finishes,
  // and its write is refused by the store's fencing); its queued work
  // items leave the queues without an outcome; its watchers hear nothing
  // (what they read is the store's); a cancel waiting for it is answered
  // UNAVAILABLE. Nothing for a task that is not live. Never blocks beyond
  // short mutexes, and takes no task's record_mu: the store may call it
  // from inside a write.
  void Abandon(const std::string& id) ABSL_LOCKS_EXCLUDED(mu_);
  // Gives live task `id` up to another daemon if its work item still waits
  // on work_queues() for a worker (WorkRouter, docs/scale-out.md): only
  // when every poll it ran is recorded or queued for the store, and under
  // the task's record_mu, it withdraws the item (a worker that leased it
  // first keeps it, and nothing changes), drops the task as Abandon does,
  // and calls `hand_over`, which must queue the store's handover write: it
  // then follows every write of the task queued before, and nothing of the
  // task is written after it. False, changing nothing, otherwise.
  bool HandOver(const std::string& id, absl::FunctionRef<void()> hand_over)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Abandon of every live task (the daemon's lease may have expired);
  // returns how many.
  size_t AbandonAll() ABSL_LOCKS_EXCLUDED(mu_);

  // --- Work (task_runner_work.cc) ---
  //
  // A task in a `work` state puts each attempt on work_queues(); workers
  // take items there. Every attempt's end comes back to the task
  // (OnWorkOutcome) as its machine's CompleteWork or FailWork: a timeout,
  // heartbeat timeout or schedule timeout is a failure by that name.

  WorkQueues& work_queues() { return work_; }

  using WorkAnswerCallback = absl::AnyInvocable<void(absl::Status) &&>;
  // A worker's answer (CompleteWork / FailWork RPCs). `done` gets OK once
  // the task's record shows the answer taken, on disk; the refusals of
  // WorkQueues::Complete / Fail (INVALID_ARGUMENT, FAILED_PRECONDITION);
  // INVALID_ARGUMENT for a result a task cannot hold (checked before the
  // lease ends, so the worker may fix it and answer again);
  // FAILED_PRECONDITION when the task was cancelled before the answer was
  // recorded; UNAVAILABLE when the daemon stopped first (the lease is
  // recorded: answer again after the restart).
  void CompleteWork(std::string token, google::protobuf::Value result,
                    WorkAnswerCallback done);
  void FailWork(std::string token, machine::WorkFailure failure,
                WorkAnswerCallback done);
  // A token call that work_queues() refused with `refused`, answered: as
  // refused, except on a daemon of a cluster (RouteToOwners) when the
  // token's task is not live here and unfinished in the store: then
  // UNAVAILABLE saying the lease is held by another daemon (the task moved
  // after a failover or a handover, and its new owner restored the lease),
  // so the worker retries. Reads the store; `done` as CompleteWork's.
  void AnswerRefusedToken(const std::string& token, absl::Status refused,
                          WorkAnswerCallback done);
  // Records each lease in its task's snapshot (work.lease) before its
  // worker hears of it, so a restart keeps it (see RecordLease); `done`
  // gets the leases that were stored. Those that were not (the write
  // failed, the task is gone) go back to their queue's head
  // (ReturnUndelivered) or, for an attempt already over, are dropped.
  void StoreLeases(std::vector<WorkLease> leases,
                   absl::AnyInvocable<void(std::vector<WorkLease>) &&> done);

  // Tasks spawned and not yet ended.
  size_t live_count() ABSL_LOCKS_EXCLUDED(mu_);
  // Blocks (the drain thread only) until no task is live, StopWaiting is
  // called, or `deadline`; true when no task is live.
  bool WaitUntilIdle(absl::Time deadline) ABSL_LOCKS_EXCLUDED(mu_);
  void StopWaiting() ABSL_LOCKS_EXCLUDED(mu_);
  // See "Shutdown" above. Call before Executor::Shutdown.
  void BeginShutdown() { shutting_down_.store(true); }

 private:
  friend class TrackedFuture;

  // Spawns `live`'s task, running `machine` from `start_at` (at once if
  // unset); it waits at its gate until Record opens it.
  absl::Status Spawn(const std::shared_ptr<LiveTask>& live,
                     machine::Machine machine,
                     std::optional<absl::Time> start_at, NamespaceSlot slot);
  std::shared_ptr<LiveTask> FindCreated(const std::string& id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // The live task `id`, created or not. Work paths use it: a task whose id
  // the daemon chose runs, and puts out work, before its create is stored
  // (see Record), and a lease or answer for it queues behind that create.
  // A task that has not run has no work, so no token can name it.
  std::shared_ptr<LiveTask> FindRunning(const std::string& id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Start's second half, once a client-chosen id is known to be free (or
  // at once for a daemon-chosen one): spawns the task and records it.
  void StartNew(TaskRecord record,
                std::shared_ptr<const machine::Program> program,
                machine::Machine machine, StartCallback done,
                NamespaceSlot slot) ABSL_LOCKS_EXCLUDED(mu_);
  // Records the task with its first event and answers `done` once that is
  // stored; on failure (or a lost race for the id) discards the spawned
  // task. Its gate opens once the create is stored, or, for a daemon-chosen
  // id, as soon as the create is queued (see the .cc).
  void Record(const std::shared_ptr<LiveTask>& live, TaskRecord record,
              StartCallback done) ABSL_LOCKS_EXCLUDED(mu_);
  // Wake's second half, once a request id is known to be new, under
  // live->record_mu() (task_runner_wake.cc): checks the task and the signal,
  // delivers it, and stores it. Answers `done`, and the repeats of
  // `request_id` in flight, with a refusal, or once stored.
  void WakeLive(const std::shared_ptr<LiveTask>& live, v1::Signal signal,
                const std::string& request_id, WakeCallback& done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(live->record_mu());
  // Queues the accepted wake's write and answers `done` (and any repeats of
  // its request id) once it is stored.
  void StoreWake(const std::shared_ptr<LiveTask>& live,
                 const std::string& request_id, const WakeRecord& wake,
                 v1::PendingSignal pending, WakeCallback& done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(live->record_mu());
  // A wake of a task that is not live, answered from the store's reads.
  void WakeRecorded(const std::string& id, const std::string& request_id,
                    WakeCallback done);
  // Wake and Cancel of a task another daemon runs (see their comments).
  void WakeElsewhere(const std::string& id, v1::Signal signal,
                     const std::string& request_id, WakeCallback done);
  void CancelElsewhere(const std::string& id, std::string reason,
                       CancelCallback done);
  // Looks for the owner's answer to wake `request_id` of task `id` after
  // `delay`, answering `done` with it, or as queued once `deadline` would
  // pass before the next look.
  void AwaitWakeRecord(const std::string& id, const std::string& request_id,
                       absl::Time deadline, absl::Duration delay,
                       WakeCallback done);
  // Reads task `id` after `delay`, answering `done` once it shows ended or
  // `deadline` would pass before the next read.
  void AwaitEndElsewhere(const std::string& id, absl::Time deadline,
                         absl::Duration delay, CancelCallback done);
  // Abandon's work once `live` is out of live_.
  void AbandonLive(LiveTask& live);
  // UNAVAILABLE for a recorded, unfinished task that is not live: the daemon
  // is stopping, or the task's submit is a moment from completing.
  absl::Status NotRunning(const std::string& id) const;

  // The task's machine put `order` out (its WorkCallback): queues it.
  void PutWork(LiveTask& live, machine::WorkOrder order);
  // A recovered task in a `work` state: its attempt back on its queue, or
  // its recorded lease back with its worker.
  void ResumeWork(const LiveTask& live, const v1::TaskSnapshot& snapshot,
                  const machine::WorkOrder& order);
  // WorkQueues' outcome callback: hands the attempt's end to its task.
  void OnWorkOutcome(WorkOutcome outcome);
  // CompleteWork and FailWork after their own checks: `answer` ends the
  // lease (WorkQueues::Complete or Fail); `done` as there.
  void AnswerWork(const std::string& token,
                  absl::AnyInvocable<absl::Status()> answer,
                  WorkAnswerCallback done);

  // From the task's future, on the polling thread: what the poll changed,
  // with `end` when the machine finished.
  void RecordPoll(const std::shared_ptr<LiveTask>& live,
                  const machine::TaskEnd* end);
  // From the task's future: a cancel took effect (the machine is dropped).
  void RecordCancel(const std::shared_ptr<LiveTask>& live);
  // From the task's future's destructor: dropped without ending (shutdown).
  void RecordDrop(const std::shared_ptr<LiveTask>& live);
  // The end's write is answered (`stored`): forget the task and answer its
  // cancel callbacks, with the task as stored (read after the write), or
  // UNAVAILABLE when the write failed. Until then the task stays live, so a
  // wake meanwhile is refused as ended rather than answered from a store
  // that does not show the end.
  void Forget(LiveTask& live, const absl::Status& stored)
      ABSL_LOCKS_EXCLUDED(mu_);

  Executor& executor_;
  TaskStore& store_;
  TaskRecorder recorder_;
  ServerMetrics* const metrics_;
  std::atomic<bool> shutting_down_{false};
  ClusterRouting routing_;
  // After recorder_ (its outcomes reach tasks) and destroyed before it; the
  // timer is destroyed first, so no expiry runs into a destroyed queue.
  WorkQueues work_;
  WorkTimer work_timer_;

  absl::Mutex mu_;
  // Keyed by a view of the LiveTask's own id (the entry holds the task, so
  // the view lives as long as the entry): one copy of each id, not two.
  absl::flat_hash_map<absl::string_view, std::shared_ptr<LiveTask>> live_
      ABSL_GUARDED_BY(mu_);
  bool stop_waiting_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace corosched::server
