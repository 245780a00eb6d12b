#include "client/task_watch.h"

#include "client/status.h"

namespace corosched {

TaskWatch::~TaskWatch() {
  if (finished_) return;
  // A sync stream must be drained and finished before it is destroyed.
  Cancel();
  v1::TaskEvent ignored;
  while (Next(&ignored)) {
  }
  (void)Finish();
}

bool TaskWatch::Next(v1::TaskEvent* event) {
  if (finished_ || reader_ == nullptr) return false;
  return reader_->Read(event);
}

absl::Status TaskWatch::Finish() {
  if (finished_) return absl::FailedPreconditionError("already finished");
  finished_ = true;
  if (reader_ == nullptr) return setup_error_;
  return FromGrpcStatus(reader_->Finish());
}

void TaskWatch::Cancel() { context_.TryCancel(); }

}  // namespace corosched
