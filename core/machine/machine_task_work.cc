// MachineTask's work answers: accepting them from any thread, and the
// future applying them at its next poll. See the races in machine_task.h.

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/machine/machine_task.h"

namespace corosched::machine {

absl::Status MachineTask::CompleteWork(uint32_t attempt,
                                       google::protobuf::Value result) {
  // Reads only the program: no lock needed.
  absl::Status checked = Machine::CheckWorkResult(*program_, result);
  if (!checked.ok()) return checked;
  WorkAnswer answer;
  answer.attempt = attempt;
  answer.result = std::move(result);
  return AcceptAnswer(std::move(answer));
}

absl::Status MachineTask::FailWork(uint32_t attempt, WorkFailure failure) {
  WorkAnswer answer;
  answer.attempt = attempt;
  answer.failure = std::move(failure);
  return AcceptAnswer(std::move(answer));
}

absl::Status MachineTask::AcceptAnswer(WorkAnswer answer) {
  Waker to_wake;
  {
    absl::MutexLock lock(&mu_);
    // As in Wake: an ended task's clock may be gone; answer without it.
    if (IsEnded(view_.status)) {
      return absl::FailedPreconditionError(
          "the task has ended; the answer is too late");
    }
    if (work_attempt_ != answer.attempt) {
      return absl::FailedPreconditionError(
          work_attempt_ == 0
              ? std::string("the task is not working")
              : absl::StrCat("the task is working on attempt ", work_attempt_,
                             ", not ", answer.attempt));
    }
    if (answered_generation_ == work_generation_) {
      return absl::FailedPreconditionError(
          absl::StrCat("attempt ", answer.attempt, " was answered already"));
    }
    answered_generation_ = work_generation_;
    answer.at = timers_->clock()->Now();
    answer_ = std::move(answer);
    // Between polls: wake the task (race 5). During a poll its end takes
    // the answer (race 4); before the first, the first poll does.
    if (IdleMachine() != nullptr) to_wake = waker_;
  }
  std::move(to_wake).Wake();  // outside mu_: waking may run the task inline
  return absl::OkStatus();
}

void MachineFuture::TakeAnswer() {
  if (!task_->answer_.has_value()) return;
  answer_ = std::move(task_->answer_);
  task_->answer_.reset();
}

void MachineFuture::ApplyAnswer() {
  if (!answer_.has_value()) return;
  MachineTask::WorkAnswer answer = *std::move(answer_);
  answer_.reset();
  if (!answer.result.has_value()) {
    // FAILED_PRECONDITION cannot happen: the attempt was the published one,
    // and only the answer moves a WORKING machine on.
    machine_->FailWork(answer.attempt, std::move(answer.failure), answer.at)
        .IgnoreError();
    return;
  }
  absl::Status completed =
      machine_->CompleteWork(answer.attempt, *answer.result, answer.at);
  if (completed.code() == absl::StatusCode::kInvalidArgument) {
    // Past the checks made on acceptance: the task's variables budget.
    machine_
        ->FailWork(answer.attempt,
                   {"invalid_result", std::string(completed.message()), false},
                   answer.at)
        .IgnoreError();
  }
}

}  // namespace corosched::machine
