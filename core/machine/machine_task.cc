#include "core/machine/machine_task.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/machine/proto_time.h"

namespace corosched::machine {
namespace {

constexpr absl::string_view kCancelled =
    "the task was cancelled before it finished";

// Calls each of `requests` with a snapshot of `machine`. Outside every lock.
void Answer(std::vector<SnapshotCallback> requests, const Machine& machine) {
  if (requests.empty()) return;
  const v1::TaskSnapshot snapshot = machine.Snapshot();
  for (SnapshotCallback& done : requests) done(snapshot);
}

// Adds signals accepted but not yet in the machine to its snapshot.
void AppendInbox(const std::vector<Machine::AcceptedSignal>& inbox,
                 v1::TaskSnapshot* snapshot) {
  for (const Machine::AcceptedSignal& accepted : inbox) {
    v1::PendingSignal& pending = *snapshot->add_mailbox();
    *pending.mutable_signal() = accepted.signal;
    pending.set_sequence(accepted.sequence);
    *pending.mutable_received_at() = ToProtoTimestamp(accepted.received_at);
    snapshot->set_signal_sequence(accepted.sequence);
  }
}

}  // namespace

std::shared_ptr<MachineTask> MachineTask::Create(Machine machine,
                                                 TimerDriver* timers,
                                                 OutputCallback on_output,
                                                 MachineObserver* observer,
                                                 WorkCallback on_work) {
  return std::make_shared<MachineTask>(ConstructionToken(), std::move(machine),
                                       timers, std::move(on_output), observer,
                                       std::move(on_work));
}

// No lock: no other thread can see the task yet.
MachineTask::MachineTask(ConstructionToken, Machine machine,
                         TimerDriver* timers, OutputCallback on_output,
                         MachineObserver* observer,
                         WorkCallback on_work) ABSL_NO_THREAD_SAFETY_ANALYSIS
    : program_(&machine.program()),
      timers_(timers),
      observer_(observer) {
  signal_sequence_ = machine.signal_sequence();
  // A restored task may be WORKING already: its attempt can be answered.
  Publish(machine, Waker(),
          /*new_work=*/machine.status() == v1::TASK_STATUS_WORKING);
  unstarted_ = std::make_unique<Unstarted>(
      Unstarted{std::move(machine), std::move(on_output), std::move(on_work)});
}

// No lock: the last reference is going away, so no other thread can see the
// task any more.
MachineTask::~MachineTask() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  if (observer_ != nullptr && reported_held_ != 0) {
    observer_->OnHeldSignalsChanged(-reported_held_);
  }
}

MachineFuture MachineTask::MakeFuture() {
  absl::MutexLock lock(&mu_);
  OutputCallback on_output;
  WorkCallback on_work;
  if (unstarted_ != nullptr) {
    on_output = std::move(unstarted_->on_output);
    on_work = std::move(unstarted_->on_work);
  }
  return MachineFuture(shared_from_this(), std::move(on_output),
                       std::move(on_work));
}

void MachineTask::Publish(const Machine& machine, const Waker& waker,
                          bool new_work) {
  view_.status = machine.status();
  view_.mailbox_size = machine.mailbox_size();
  const v1::WorkAttempt* work =
      machine.status() == v1::TASK_STATUS_WORKING ? machine.work() : nullptr;
  work_attempt_ = work != nullptr ? work->attempt() : 0;
  if (new_work) {
    ++work_generation_;
    answer_.reset();  // none can be for the new attempt yet (race 4)
  }
  if (!waker_.WillWake(waker)) waker_ = waker;
  ReportHeldSignals();
}

void MachineTask::ReportHeldSignals() {
  if (observer_ == nullptr) return;
  const int64_t held =
      IsEnded(view_.status)
          ? 0
          : static_cast<int64_t>(view_.mailbox_size + inbox_.size());
  if (held == reported_held_) return;
  observer_->OnHeldSignalsChanged(held - reported_held_);
  reported_held_ = held;
}

const Machine* MachineTask::IdleMachine() const {
  if (unstarted_ != nullptr) return &unstarted_->machine;
  if (ended_ != nullptr) return ended_.get();
  return waiting_;
}

absl::StatusOr<WakeReceipt> MachineTask::Wake(v1::Signal signal) {
  Waker to_wake;
  WakeReceipt receipt{WakeReceipt::Disposition::kBuffered, 0, absl::Time()};
  {
    absl::MutexLock lock(&mu_);
    // An ended task may have outlived its executor and timer driver: answer
    // without reading their clock. Until the future retires (under mu_) it
    // is alive, and so are the executor and its driver.
    if (IsEnded(view_.status)) {
      return WakeReceipt{WakeReceipt::Disposition::kRefusedEnded, 0,
                         absl::Time()};
    }
    absl::StatusOr<PayloadVariables> payload =
        Machine::CheckSignal(*program_, signal);
    if (!payload.ok()) return payload.status();
    const size_t pending = view_.mailbox_size + inbox_.size();
    const int limit = program_->limits().max_mailbox_signals;
    if (pending >= static_cast<size_t>(limit)) {
      return MailboxFullError(pending, signal.name());
    }
    const absl::Time now = timers_->clock()->Now();
    // While a poll runs there is no machine to ask: the signal waits in the
    // inbox, and the poll's end takes it in (race 1 above).
    const Machine* idle = IdleMachine();
    const bool consumed = idle != nullptr &&
                          idle->SignalDisposition(signal.name(), now, inbox_) ==
                              WakeReceipt::Disposition::kConsumed;
    receipt.sequence = ++signal_sequence_;
    receipt.received_at = now;
    inbox_.push_back(
        {std::move(signal), receipt.sequence, now, *std::move(payload)});
    if (observer_ != nullptr) observer_->OnSignalAccepted();
    ReportHeldSignals();
    if (consumed) {
      receipt.disposition = WakeReceipt::Disposition::kConsumed;
      to_wake = waker_;
    }
  }
  std::move(to_wake).Wake();  // outside mu_: waking may run the task inline
  return receipt;
}

void MachineTask::RequestSnapshot(SnapshotCallback done) {
  v1::TaskSnapshot snapshot;
  {
    absl::MutexLock lock(&mu_);
    const Machine* idle = IdleMachine();
    if (idle == nullptr) {  // a poll runs: its end answers
      requests_.push_back(std::move(done));
      return;
    }
    // Read only: the future may be reading the same machine meanwhile.
    snapshot = idle->Snapshot();
    AppendInbox(inbox_, &snapshot);
  }
  done(std::move(snapshot));
}

v1::TaskSnapshot MachineTask::Snapshot() {
  absl::Notification answered;
  v1::TaskSnapshot snapshot;
  RequestSnapshot([&](v1::TaskSnapshot taken) {
    snapshot = std::move(taken);
    answered.Notify();
  });
  answered.WaitForNotification();
  return snapshot;
}

v1::TaskStatus MachineTask::status() const {
  absl::MutexLock lock(&mu_);
  return view_.status;
}

MachineFuture MachineFuture::Detached(Machine machine, TimerDriver* timers,
                                      OutputCallback on_output) {
  return MachineFuture(std::move(machine), timers, std::move(on_output));
}

MachineFuture::~MachineFuture() {
  // Detached, moved from, or ended: nothing to hand over.
  if (task_ != nullptr) Retire(/*cancel=*/true);
}

corosched::Poll<TaskEnd> MachineFuture::Poll(Context& cx) {
  if (!machine_.has_value()) {
    Start();
  } else if (observed_) {
    Resume();
  }
  for (;;) {
    ApplyAnswer();
    const PollOutcome outcome = RunMachine();
    const bool new_work = outcome.next == PollOutcome::Next::kWork;
    if (new_work && (!on_work_ || !observed_)) {
      machine_->Abort(
          absl::StrCat("no work dispatcher: state ", machine_->state_name(),
                       " puts work on queue ", machine_->work()->queue(),
                       ", but this task runs with no queue to put it on"));
      break;
    }
    if (outcome.next == PollOutcome::Next::kEnded) break;
    // Signals or an answer arrived: poll again.
    if (observed_ && !Publish(cx.waker(), new_work)) continue;
    runs_again_ = outcome.next == PollOutcome::Next::kRunAgain;
    if (runs_again_) {
      if (sleep_.has_value()) sleep_.reset();
      if (observer_ != nullptr) observer_->OnSelfWake();
      cx.waker().WakeByRef();
    } else {
      ArmTimer(outcome.deadline, cx);
    }
    // Published: an answer from the callback reaches the task.
    if (new_work) on_work_(*machine_->work_order());
    return corosched::Poll<TaskEnd>::Pending();
  }
  sleep_.reset();
  return corosched::Poll<TaskEnd>::Ready(Retire(/*cancel=*/false));
}

PollOutcome MachineFuture::RunMachine() {
  return machine_->Poll([this] { return timers_->clock()->Now(); },
                        [this](uint64_t sequence, absl::string_view text) {
                          if (on_output_) on_output_(sequence, text);
                        });
}

void MachineFuture::Start() {
  std::vector<SnapshotCallback> requests;
  {
    absl::MutexLock lock(&task_->mu_);
    machine_.emplace(std::move(task_->unstarted_->machine));
    task_->unstarted_.reset();
    // No weak references exist, so holders can only get fewer from now on.
    observed_ = task_.use_count() > 1;
    task_->view_ = MachineTask::View();  // running
    task_->view_.mailbox_size = machine_->mailbox_size();
    DrainInbox();
    TakeAnswer();  // a restored WORKING task may be answered already
    task_->ReportHeldSignals();
    requests = TakeRequests();
  }
  Answer(std::move(requests), *machine_);
}

void MachineFuture::Resume() {
  absl::MutexLock lock(&task_->mu_);
  task_->waiting_ = nullptr;  // the machine is the future's again
  task_->view_.status = v1::TASK_STATUS_READY;
  DrainInbox();
  TakeAnswer();
}

bool MachineFuture::Publish(const Waker& waker, bool new_work) {
  std::vector<SnapshotCallback> requests;
  {
    absl::MutexLock lock(&task_->mu_);
    // A signal that came during the poll may be the one it now awaits.
    if (DrainInbox() && machine_->status() == v1::TASK_STATUS_AWAITING) {
      return false;
    }
    // An answer that came during the poll (race 4).
    if (!new_work && task_->answer_.has_value()) {
      TakeAnswer();
      return false;
    }
    task_->Publish(*machine_, waker, new_work);
    task_->waiting_ = &*machine_;
    requests = TakeRequests();
  }
  Answer(std::move(requests), *machine_);  // reads only, like outside readers
  return true;
}

bool MachineFuture::DrainInbox() {
  if (task_->inbox_.empty()) return false;
  for (Machine::AcceptedSignal& signal : task_->inbox_) {
    machine_->Accept(std::move(signal));
  }
  task_->inbox_.clear();
  task_->view_.mailbox_size = machine_->mailbox_size();
  task_->ReportHeldSignals();
  return true;
}

std::vector<SnapshotCallback> MachineFuture::TakeRequests() {
  std::vector<SnapshotCallback> requests = std::move(task_->requests_);
  task_->requests_.clear();
  return requests;
}

TaskEnd MachineFuture::Retire(bool cancel) {
  if (machine_.has_value() && !observed_) {
    // Nobody else held the task at its first poll, so nobody can ask for
    // the machine again: it need not be kept, and there is nothing to meet.
    if (cancel) machine_->Cancel(std::string(kCancelled));
    task_.reset();
    return {machine_->status(), machine_->result(), machine_->error()};
  }
  TaskEnd end;
  std::vector<SnapshotCallback> requests;
  std::optional<v1::TaskSnapshot> snapshot;
  {
    absl::MutexLock lock(&task_->mu_);
    if (!machine_.has_value()) {  // dropped before its first poll
      machine_.emplace(std::move(task_->unstarted_->machine));
      task_->unstarted_.reset();
    }
    task_->waiting_ = nullptr;  // outside readers are done with it
    if (cancel) machine_->Cancel(std::string(kCancelled));
    end = {machine_->status(), machine_->result(), machine_->error()};
    DrainInbox();            // accepted, never taken: kept in the final mailbox
    task_->answer_.reset();  // an answer goes with the ended task (race 6)
    task_->Publish(*machine_, Waker(), /*new_work=*/false);
    requests = TakeRequests();
    if (!requests.empty()) snapshot = machine_->Snapshot();
    task_->ended_ = std::make_unique<Machine>(*std::move(machine_));
  }
  task_.reset();  // the machine is the task's now; nothing to cancel on drop
  for (SnapshotCallback& done : requests) done(*snapshot);
  return end;
}

void MachineFuture::ArmTimer(std::optional<absl::Time> deadline, Context& cx) {
  if (!deadline.has_value()) {
    sleep_.reset();
    return;
  }
  if (!sleep_.has_value() || sleep_->deadline() != *deadline) {
    sleep_.emplace(timers_, *deadline);
  }
  // Already due (a zero sleep): come straight back.
  if (sleep_->Poll(cx).IsReady()) {
    if (observer_ != nullptr) observer_->OnSelfWake();
    cx.waker().WakeByRef();
  }
}

absl::StatusOr<SpawnedMachine> SpawnMachine(Executor& executor, Machine machine,
                                            OutputCallback on_output,
                                            WorkCallback on_work) {
  std::shared_ptr<MachineTask> task =
      MachineTask::Create(std::move(machine), &executor.timers(),
                          std::move(on_output), nullptr, std::move(on_work));
  absl::StatusOr<JoinHandle<TaskEnd>> handle =
      executor.Spawn(task->MakeFuture());
  if (!handle.ok()) return handle.status();
  return SpawnedMachine{std::move(task), *std::move(handle)};
}

}  // namespace corosched::machine
