#include "core/machine/machine_task.h"

#include <utility>

#include "absl/base/attributes.h"
#include "absl/synchronization/notification.h"
#include "core/machine/proto_time.h"

namespace corosched::machine {
namespace {

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

std::pair<std::shared_ptr<MachineTask>, MachineFuture> MachineTask::Create(
    Machine machine, TimerDriver* timers, OutputCallback on_output) {
  auto task =
      std::make_shared<MachineTask>(ConstructionToken(), machine, timers);
  MachineFuture future(task, std::move(machine), std::move(on_output));
  return {std::move(task), std::move(future)};
}

// No lock: no other thread can see the task yet (and a lock here would be
// paid by every task, however short).
MachineTask::MachineTask(ConstructionToken, const Machine& machine,
                         TimerDriver* timers) ABSL_NO_THREAD_SAFETY_ANALYSIS
    : program_(&machine.program()),
      timers_(timers) {
  signal_sequence_ = machine.signal_sequence();
  Publish(machine, Waker());
}

void MachineTask::Publish(const Machine& machine, const Waker& waker) {
  view_.status = machine.status();
  view_.awaiting = machine.status() == v1::TASK_STATUS_AWAITING
                       ? &program_->state(machine.state_index())
                       : nullptr;
  view_.deadline = machine.deadline();
  view_.mailbox_size = machine.mailbox_size();
  if (!waker_.WillWake(waker)) waker_ = waker;
}

absl::StatusOr<WakeReceipt> MachineTask::Wake(v1::Signal signal) {
  Waker to_wake;
  WakeReceipt receipt{WakeReceipt::Disposition::kBuffered, 0};
  {
    PlainMutexLock lock(&mu_);
    // An ended task may have outlived its executor and timer driver: answer
    // without reading their clock. Until the future retires (under mu_) it
    // is alive, and so are the executor and its driver.
    if (view_.status == v1::TASK_STATUS_COMPLETED ||
        view_.status == v1::TASK_STATUS_FAILED ||
        view_.status == v1::TASK_STATUS_CANCELLED) {
      return WakeReceipt{WakeReceipt::Disposition::kRefusedEnded, 0};
    }
    absl::StatusOr<PayloadVariables> payload =
        Machine::CheckSignal(*program_, signal);
    if (!payload.ok()) return payload.status();
    const size_t pending = view_.mailbox_size + inbox_.size();
    if (pending >=
        static_cast<size_t>(program_->limits().max_mailbox_signals)) {
      return MailboxFullError(pending, signal.name());
    }
    const absl::Time now = timers_->clock()->Now();
    const Program::State* awaiting = view_.awaiting;
    bool consumed = awaiting != nullptr &&
                    awaiting->SignalTarget(signal.name()) >= 0 &&
                    (!view_.deadline.has_value() || now <= *view_.deadline);
    for (const Machine::AcceptedSignal& earlier : inbox_) {
      if (!consumed) break;
      // An earlier signal the await listens for is taken first.
      if (awaiting->SignalTarget(earlier.signal.name()) >= 0) consumed = false;
    }
    receipt.sequence = ++signal_sequence_;
    inbox_.push_back(
        {std::move(signal), receipt.sequence, now, *std::move(payload)});
    attention_.store(true, std::memory_order_relaxed);
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
    PlainMutexLock lock(&mu_);
    const Machine* idle = parked_ != nullptr ? parked_.get() : waiting_;
    if (idle == nullptr) {  // running: its worker answers
      requests_.push_back(std::move(done));
      attention_.store(true, std::memory_order_relaxed);
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
  PlainMutexLock lock(&mu_);
  return view_.status;
}

MachineFuture::~MachineFuture() {
  if (task_ != nullptr) Retire(/*cancel=*/true);  // else moved from, or ended
}

corosched::Poll<TaskEnd> MachineFuture::Poll(Context& cx) {
  if (machine_.status() != v1::TASK_STATUS_READY ||
      ++unsynced_polls_ >= MachineTask::kRequestCheckPolls) {
    MaybeResume();
  }
  for (;;) {
    const PollOutcome outcome = RunMachine();
    switch (outcome.next) {
      case PollOutcome::Next::kRunAgain:
        if (sleep_.has_value()) sleep_.reset();
        cx.waker().WakeByRef();
        return corosched::Poll<TaskEnd>::Pending();
      case PollOutcome::Next::kWait:
        if (!Park(cx.waker())) continue;  // signals arrived
        ArmTimer(outcome.deadline, cx);
        return corosched::Poll<TaskEnd>::Pending();
      case PollOutcome::Next::kEnded:
        break;
    }
    sleep_.reset();
    return corosched::Poll<TaskEnd>::Ready(Retire(/*cancel=*/false));
  }
}

ABSL_ATTRIBUTE_ALWAYS_INLINE PollOutcome MachineFuture::RunMachine() {
  return machine_.Poll([this] { return timers_->clock()->Now(); },
                       [this](uint64_t sequence, absl::string_view text) {
                         if (on_output_) on_output_(sequence, text);
                       });
}

void MachineFuture::MaybeResume() {
  unsynced_polls_ = 0;
  // A running task (or a new one, whose view already says so) needs mu_
  // only when outside code left it signals or requests.
  if (machine_.status() == v1::TASK_STATUS_READY &&
      !task_->attention_.load(std::memory_order_relaxed)) {
    return;
  }
  std::vector<SnapshotCallback> requests;
  {
    PlainMutexLock lock(&task_->mu_);
    task_->waiting_ = nullptr;           // the machine is the future's again
    task_->view_ = MachineTask::View();  // running
    task_->waker_ = Waker();
    DrainInbox();
    // An upper bound while it runs: running only ever takes signals out.
    task_->view_.mailbox_size = machine_.mailbox_size();
    requests = TakeRequests();
  }
  Answer(std::move(requests), machine_);
}

std::vector<SnapshotCallback> MachineFuture::TakeRequests() {
  std::vector<SnapshotCallback> requests = std::move(task_->requests_);
  task_->requests_.clear();
  return requests;
}

bool MachineFuture::DrainInbox() {
  task_->attention_.store(false, std::memory_order_relaxed);
  if (task_->inbox_.empty()) return false;
  for (Machine::AcceptedSignal& signal : task_->inbox_) {
    machine_.Accept(std::move(signal));
  }
  task_->inbox_.clear();
  return true;
}

bool MachineFuture::Park(const Waker& waker) {
  std::vector<SnapshotCallback> requests;
  {
    PlainMutexLock lock(&task_->mu_);
    // A signal that came while the task ran may be the one it now awaits.
    if (DrainInbox() && machine_.status() == v1::TASK_STATUS_AWAITING) {
      return false;
    }
    task_->Publish(machine_, waker);
    task_->waiting_ = &machine_;
    requests = TakeRequests();
  }
  Answer(std::move(requests), machine_);  // reads only, like outside readers
  return true;
}

TaskEnd MachineFuture::Retire(bool cancel) {
  constexpr absl::string_view kCancelled =
      "the task was cancelled before it finished";
  // Nobody else holds the task, and nobody left it signals or requests: no
  // one can ever ask for this machine again, so it need not be kept. (The
  // last other holder's release of its reference ordered its writes before
  // this read.)
  if (task_.use_count() == 1 &&
      !task_->attention_.load(std::memory_order_relaxed)) {
    if (cancel) machine_.Cancel(std::string(kCancelled));
    task_.reset();
    return {machine_.status(), machine_.result(), machine_.error()};
  }
  TaskEnd end;
  std::vector<SnapshotCallback> requests;
  std::optional<v1::TaskSnapshot> snapshot;
  {
    PlainMutexLock lock(&task_->mu_);
    task_->waiting_ = nullptr;  // outside readers are done with it
    if (cancel) machine_.Cancel(std::string(kCancelled));
    end = {machine_.status(), machine_.result(), machine_.error()};
    DrainInbox();  // accepted, never taken: kept in the final mailbox
    task_->Publish(machine_, Waker());
    requests = TakeRequests();
    if (!requests.empty()) snapshot = machine_.Snapshot();
    task_->parked_ = std::make_unique<Machine>(std::move(machine_));
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
  if (sleep_->Poll(cx).IsReady()) cx.waker().WakeByRef();
}

absl::StatusOr<SpawnedMachine> SpawnMachine(Executor& executor, Machine machine,
                                            OutputCallback on_output) {
  auto [task, future] = MachineTask::Create(
      std::move(machine), &executor.timers(), std::move(on_output));
  absl::StatusOr<JoinHandle<TaskEnd>> handle =
      executor.Spawn(std::move(future));
  if (!handle.ok()) return handle.status();
  return SpawnedMachine{std::move(task), *std::move(handle)};
}

}  // namespace corosched::machine
