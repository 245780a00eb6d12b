#include "core/machine/machine_task.h"

#include <utility>

namespace corosched::machine {

std::shared_ptr<MachineTask> MachineTask::Create(Machine machine,
                                                 TimerDriver* timers,
                                                 OutputCallback on_output) {
  return std::shared_ptr<MachineTask>(
      new MachineTask(std::move(machine), timers, std::move(on_output)));
}

MachineFuture MachineTask::MakeFuture() {
  return MachineFuture(shared_from_this());  // the future co-owns the task
}

absl::StatusOr<WakeReceipt> MachineTask::Wake(v1::Signal signal) {
  Waker to_wake;
  absl::StatusOr<WakeReceipt> receipt;
  {
    absl::MutexLock lock(&mu_);
    // An ended task may have outlived its executor and timer driver: answer
    // without reading their clock. While it has not ended its future is
    // alive, so the executor and its driver are too.
    if (machine_.ended()) {
      return WakeReceipt{WakeReceipt::Disposition::kRefusedEnded, 0};
    }
    receipt = machine_.Deliver(std::move(signal), timers_->clock()->Now());
    if (receipt.ok() &&
        receipt->disposition == WakeReceipt::Disposition::kConsumed) {
      to_wake = waker_;
    }
  }
  std::move(to_wake).Wake();  // outside mu_: waking may run the task inline
  return receipt;
}

v1::TaskSnapshot MachineTask::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return machine_.Snapshot();
}

v1::TaskStatus MachineTask::status() const {
  absl::MutexLock lock(&mu_);
  return machine_.status();
}

MachineFuture::~MachineFuture() {
  if (task_ == nullptr) return;  // moved from
  absl::MutexLock lock(&task_->mu_);
  task_->machine_.Cancel("the task was cancelled before it finished");
  task_->waker_ = Waker();
}

corosched::Poll<TaskEnd> MachineFuture::Poll(Context& cx) {
  PollOutcome outcome;
  TaskEnd end;
  {
    MachineTask& task = *task_;
    absl::MutexLock lock(&task.mu_);
    if (!task.waker_.WillWake(cx.waker())) task.waker_ = cx.waker();
    outcome = task.machine_.Poll(
        task.timers_->clock()->Now(),
        [this](uint64_t sequence, absl::string_view text) {
          output_text_.append(text.data(), text.size());
          output_chunks_.emplace_back(sequence, output_text_.size());
        });
    if (outcome.next == PollOutcome::Next::kEnded) {
      end = {task.machine_.status(), task.machine_.result(),
             task.machine_.error()};
      task.waker_ = Waker();
    }
  }
  if (!output_chunks_.empty()) DeliverOutput();
  switch (outcome.next) {
    case PollOutcome::Next::kRunAgain:
      sleep_.reset();
      cx.waker().WakeByRef();
      return corosched::Poll<TaskEnd>::Pending();
    case PollOutcome::Next::kWait:
      if (!outcome.deadline.has_value()) {
        sleep_.reset();
        return corosched::Poll<TaskEnd>::Pending();
      }
      if (!sleep_.has_value() || sleep_->deadline() != *outcome.deadline) {
        sleep_.emplace(task_->timers_, *outcome.deadline);
      }
      // Already due (a zero sleep): come straight back.
      if (sleep_->Poll(cx).IsReady()) cx.waker().WakeByRef();
      return corosched::Poll<TaskEnd>::Pending();
    case PollOutcome::Next::kEnded:
      break;
  }
  sleep_.reset();
  task_.reset();  // ended: nothing to cancel on drop
  return corosched::Poll<TaskEnd>::Ready(std::move(end));
}

void MachineFuture::DeliverOutput() {
  size_t begin = 0;
  for (const auto& [sequence, end] : output_chunks_) {
    if (task_->on_output_) {
      task_->on_output_(
          sequence, absl::string_view(output_text_).substr(begin, end - begin));
    }
    begin = end;
  }
  output_text_.clear();
  output_chunks_.clear();
}

absl::StatusOr<SpawnedMachine> SpawnMachine(Executor& executor, Machine machine,
                                            OutputCallback on_output) {
  std::shared_ptr<MachineTask> task = MachineTask::Create(
      std::move(machine), &executor.timers(), std::move(on_output));
  absl::StatusOr<JoinHandle<TaskEnd>> handle =
      executor.Spawn(task->MakeFuture());
  if (!handle.ok()) return handle.status();
  return SpawnedMachine{std::move(task), *std::move(handle)};
}

}  // namespace corosched::machine
