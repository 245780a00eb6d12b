#include "server/tasks/task_runner.h"

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/machine/proto_time.h"
#include "core/quote.h"
#include "server/tasks/task_view.h"

namespace corosched::server {
namespace {

// The answer to a submit whose id names an existing task.
absl::StatusOr<StartedTask> Resubmitted(const TaskRecord& existing,
                                        const std::string& fingerprint) {
  if (existing.request_fingerprint.empty() ||
      existing.request_fingerprint != fingerprint) {
    return absl::AlreadyExistsError(absl::StrCat(
        "task id ", QuoteInput(existing.id),
        " was already used by a different submit request; choose another "
        "id, or repeat the original request exactly"));
  }
  return StartedTask{ToTaskMessage(existing), false};
}

void Discard(LiveTask& live) {
  CancelCallback none;
  live.RequestCancel("discarded before it was recorded", none,
                     /*discard=*/true);
}

}  // namespace

// The future that runs one task; see TaskRunner's class comment.
class TrackedFuture {
 public:
  using Output = machine::TaskEnd;

  TrackedFuture(TaskRunner* runner, std::shared_ptr<LiveTask> live,
                machine::MachineFuture inner,
                std::unique_ptr<Sleep> start_delay, NamespaceSlot slot)
      : runner_(runner),
        live_(std::move(live)),
        inner_(std::move(inner)),
        start_delay_(std::move(start_delay)),
        slot_(std::move(slot)) {}
  TrackedFuture(TrackedFuture&&) noexcept = default;
  TrackedFuture& operator=(TrackedFuture&&) = delete;
  ~TrackedFuture() {
    if (live_ == nullptr) return;  // ended, or moved from
    // Dropped after polls whose record was deferred (shutdown): they are
    // recorded first, as they ran, before the machine is cancelled.
    if (inner_.has_value() && TaskRecorder::HasUnrecordedPolls(*live_)) {
      runner_->RecordPoll(live_, nullptr);
    }
    inner_.reset();  // cancels the machine
    runner_->RecordDrop(live_);
  }

  corosched::Poll<machine::TaskEnd> Poll(Context& cx) {
    switch (live_->Enter(cx.waker())) {
      case PollGate::kWait:
        return corosched::Poll<machine::TaskEnd>::Pending();
      case PollGate::kCancel:
        inner_.reset();  // the machine ends as CANCELLED
        runner_->RecordCancel(live_);
        return End(machine::TaskEnd{v1::TASK_STATUS_CANCELLED, "", ""});
      case PollGate::kRun:
        break;
    }
    if (start_delay_ != nullptr) {
      if (start_delay_->Poll(cx).IsPending()) {
        return corosched::Poll<machine::TaskEnd>::Pending();
      }
      start_delay_.reset();
    }
    // The machine waits too while its last record is held back.
    if (TaskRecorder::HoldsRecord(*live_) &&
        !runner_->recorder_.RecordHeld(live_)) {
      return corosched::Poll<machine::TaskEnd>::Pending();
    }
    corosched::Poll<machine::TaskEnd> poll = inner_->Poll(cx);
    if (poll.IsPending()) {
      runner_->recorder_.RecordPendingPoll(
          live_, inner_->runs_again(), inner_->state_name(), inner_->status());
      return poll;
    }
    machine::TaskEnd end = std::move(poll).value();
    runner_->RecordPoll(live_, &end);
    return End(std::move(end));
  }

 private:
  corosched::Poll<machine::TaskEnd> End(machine::TaskEnd end) {
    live_.reset();
    inner_.reset();
    start_delay_.reset();
    slot_ = NamespaceSlot();  // ended: no longer counted in its namespace
    return corosched::Poll<machine::TaskEnd>::Ready(std::move(end));
  }

  TaskRunner* runner_;
  std::shared_ptr<LiveTask> live_;  // null once the end is recorded
  std::optional<machine::MachineFuture> inner_;
  // Behind a pointer: only delayed starts have one, and every task's future
  // would otherwise carry its space.
  std::unique_ptr<Sleep> start_delay_;
  // Counts the task against its namespace's bound while it is unfinished.
  NamespaceSlot slot_;
};

void TaskRunner::Start(TaskRecord record,
                       std::shared_ptr<const machine::Program> program,
                       machine::Machine machine, StartCallback done,
                       NamespaceSlot slot) {
  if (record.request_fingerprint.empty()) {
    StartNew(std::move(record), std::move(program), std::move(machine),
             std::move(done), std::move(slot));
    return;
  }
  // A client-chosen id may name a task that exists: a repeat of the request
  // that made it is answered with it, another request refused.
  std::string id = record.id;
  store_.GetTaskAsync(
      std::move(id),
      [this, record = std::move(record), program = std::move(program),
       machine = std::move(machine), done = std::move(done),
       slot = std::move(slot)](absl::StatusOr<TaskRecord> existing) mutable {
        if (existing.ok()) {
          std::move(done)(
              Resubmitted(*std::move(existing), record.request_fingerprint));
        } else if (!absl::IsNotFound(existing.status())) {
          std::move(done)(existing.status());
        } else {
          StartNew(std::move(record), std::move(program), std::move(machine),
                   std::move(done), std::move(slot));
        }
      });
}

void TaskRunner::StartNew(TaskRecord record,
                          std::shared_ptr<const machine::Program> program,
                          machine::Machine machine, StartCallback done,
                          NamespaceSlot slot) {
  record.snapshot = machine.Snapshot();
  auto live = std::make_shared<LiveTask>(record.id, std::move(program),
                                         record.created_at);
  absl::Status spawned =
      Spawn(live, std::move(machine), record.start_at, std::move(slot));
  if (!spawned.ok()) {
    std::move(done)(spawned);
    return;
  }
  bool entered;
  {
    absl::MutexLock lock(&mu_);
    entered = live_.try_emplace(live->id(), live).second;
  }
  if (entered) {
    Record(live, std::move(record), std::move(done));
    return;
  }
  // The same id is being submitted, or runs, right now: answered as the
  // store has it.
  Discard(*live);
  store_.GetTaskAsync(
      record.id,
      [id = record.id, fingerprint = record.request_fingerprint,
       done = std::move(done)](absl::StatusOr<TaskRecord> existing) mutable {
        if (existing.ok()) {
          std::move(done)(Resubmitted(*std::move(existing), fingerprint));
          return;
        }
        std::move(done)(absl::AbortedError(
            absl::StrCat("another submit with task id ", QuoteInput(id),
                         " is in progress; retry to get its answer")));
      });
}

absl::Status TaskRunner::Resume(const TaskRecord& record,
                                std::shared_ptr<const machine::Program> program,
                                NamespaceSlot slot) {
  absl::StatusOr<machine::Machine> machine =
      machine::Machine::Restore(program, record.snapshot);
  if (!machine.ok()) {
    return absl::Status(
        machine.status().code(),
        absl::StrCat("task ", QuoteInput(record.id),
                     ": cannot resume from its recorded state: ",
                     machine.status().message()));
  }
  auto live = std::make_shared<LiveTask>(record.id, std::move(program),
                                         record.created_at);
  TaskRecorder::Recorded(*live, record.snapshot);
  // Its attempt out before the restart goes back on its queue once the
  // task can hear of its end (after the spawn).
  std::optional<machine::WorkOrder> work = machine->work_order();
  // Recorded already: opened before it is spawned, so its first poll runs
  // the machine (one wake-up per task, not two; recovery spawns millions).
  live->Open();
  {
    absl::MutexLock lock(&mu_);
    // Erased first: an entry keeps its key, a view into its own LiveTask.
    live_.erase(live->id());
    live_.try_emplace(live->id(), live);
  }
  // A start time that has passed (the task had started, or was due while
  // the daemon was down) fires at once.
  absl::Status spawned =
      Spawn(live, *std::move(machine), record.start_at, std::move(slot));
  if (!spawned.ok()) {
    absl::MutexLock lock(&mu_);
    auto it = live_.find(live->id());
    if (it != live_.end() && it->second == live) live_.erase(it);
    return spawned;
  }
  if (work.has_value()) ResumeWork(*live, record.snapshot, *work);
  return absl::OkStatus();
}

absl::Status TaskRunner::Spawn(const std::shared_ptr<LiveTask>& live,
                               machine::Machine machine,
                               std::optional<absl::Time> start_at,
                               NamespaceSlot slot) {
  LiveTask* output_to = live.get();  // the MachineTask lives inside it
  live->set_task(machine::MachineTask::Create(
      std::move(machine), &executor_.timers(),
      [output_to](uint64_t sequence, absl::string_view text) {
        TaskRecorder::AddOutput(*output_to, sequence, text);
      },
      metrics_,
      [this, output_to](machine::WorkOrder order) {
        PutWork(*output_to, std::move(order));
      }));
  std::unique_ptr<Sleep> delay;
  if (start_at.has_value()) {
    delay = std::make_unique<Sleep>(executor_.SleepUntil(*start_at));
  }
  auto handle =
      executor_.Spawn(TrackedFuture(this, live, live->task().MakeFuture(),
                                    std::move(delay), std::move(slot)));
  if (handle.ok()) {
    std::move(*handle).Detach();  // cancels go through LiveTask instead
    return absl::OkStatus();
  }
  if (absl::IsResourceExhausted(handle.status())) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the daemon is at its admission bound of ", executor_.Stats().max_tasks,
        " unfinished tasks (--max-tasks); retry after some finish"));
  }
  return absl::UnavailableError(
      "the daemon is shutting down and accepts no new tasks");
}

void TaskRunner::Record(const std::shared_ptr<LiveTask>& live,
                        TaskRecord record, StartCallback done) {
  v1::TaskEvent first =
      TransitionEvent(record.snapshot.state(), record.snapshot.status());
  *first.mutable_time() = machine::ToProtoTimestamp(record.created_at);
  TaskRecorder::Recorded(*live, record.snapshot);
  // A daemon-chosen id is unique and known to nobody until the answer: the
  // task may run before its create is stored. Its writes queue behind the
  // create (or join it, see server/store/progress_joiner.h), nothing is
  // acknowledged before the create's commit, and should the daemon die
  // first, the task and all it did are gone together, unanswered. So the
  // first poll does not wait out an fsync. A client-chosen id may name an
  // existing task: that task must not run until the create is known to be
  // new.
  const bool run_before_stored = record.request_fingerprint.empty();
  // Counted before it can run, so finished never passes submitted.
  if (run_before_stored && metrics_ != nullptr) metrics_->OnTaskSubmitted();
  // The answer for a new task, made here: the store then need not copy the
  // record back (see CreateTaskAsync).
  v1::Task answer = ToTaskMessage(record);
  store_.CreateTaskAsync(
      std::move(record), {std::move(first)},
      [this, live, run_before_stored, answer = std::move(answer),
       done =
           std::move(done)](absl::StatusOr<CreateTaskResult> created) mutable {
        if (!created.ok() || !created->created) {
          {
            absl::MutexLock lock(&mu_);
            auto it = live_.find(live->id());
            if (it != live_.end() && it->second == live) live_.erase(it);
          }
          Discard(*live);
          if (!created.ok()) {
            std::move(done)(created.status());
          } else {
            std::move(done)(StartedTask{ToTaskMessage(created->record), false});
          }
          return;
        }
        if (!run_before_stored && metrics_ != nullptr) {
          metrics_->OnTaskSubmitted();
        }
        live->Open();
        answer.set_last_event_sequence(created->record.last_event_sequence);
        std::move(done)(StartedTask{std::move(answer), true});
      });
  // After the create is queued, so that the task's own writes queue after
  // it. (An in-memory store has stored it and opened the task already.)
  if (run_before_stored) live->OpenUnrecorded();
}

std::shared_ptr<LiveTask> TaskRunner::FindCreated(const std::string& id) {
  std::shared_ptr<LiveTask> live;
  {
    absl::MutexLock lock(&mu_);
    auto it = live_.find(id);
    if (it == live_.end()) return nullptr;
    live = it->second;
  }
  return live->created() ? live : nullptr;
}

absl::Status TaskRunner::NotRunning(const std::string& id) const {
  if (!shutting_down_.load()) {
    return absl::UnavailableError(absl::StrCat(
        "task ", QuoteInput(id), " is still being submitted; retry"));
  }
  return absl::UnavailableError(
      absl::StrCat("task ", QuoteInput(id),
                   " is not running here: the daemon is shutting down; "
                   "retry once it is back"));
}

size_t TaskRunner::live_count() {
  absl::MutexLock lock(&mu_);
  return live_.size();
}

bool TaskRunner::WaitUntilIdle(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  auto idle_or_stopped = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return live_.empty() || stop_waiting_;
  };
  mu_.AwaitWithDeadline(absl::Condition(&idle_or_stopped), deadline);
  return live_.empty();
}

void TaskRunner::StopWaiting() {
  absl::MutexLock lock(&mu_);
  stop_waiting_ = true;
}

}  // namespace corosched::server
