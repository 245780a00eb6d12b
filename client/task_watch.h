#pragma once

#include <memory>

#include "absl/status/status.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/sync_stream.h"

namespace corosched {

// One open WatchTask stream, read like an iterator (Client::StartWatch makes
// it):
//
//   std::unique_ptr<TaskWatch> watch = client.StartWatch(request);
//   v1::TaskEvent event;
//   while (watch->Next(&event)) { ... }
//   absl::Status status = watch->Finish();
//
// Thread-safety: Next and Finish belong to one thread; Cancel may be called
// from any thread at any time (also after the stream ended) and makes a
// blocked Next return false soon. Destroying a TaskWatch cancels the stream
// if it is still open.
class TaskWatch {
 public:
  TaskWatch(const TaskWatch&) = delete;
  TaskWatch& operator=(const TaskWatch&) = delete;
  ~TaskWatch();

  // Blocks for the next event. False once the stream has ended (the task
  // finished, the stream failed, or Cancel was called).
  bool Next(v1::TaskEvent* event);

  // REQUIRES: Next returned false. The stream's status: OK when the daemon
  // ended it (normally after the task's `finished` event), CANCELLED after
  // Cancel, otherwise why it failed (NOT_FOUND for an unknown task,
  // UNAVAILABLE, DEADLINE_EXCEEDED, ...).
  absl::Status Finish();

  // Ends the stream from the client side.
  void Cancel();

 private:
  friend class Client;
  TaskWatch() = default;

  // Declared before reader_: the reader refers to the context.
  grpc::ClientContext context_;
  // Null when the Client could not start the stream (setup_error_ says
  // why: its options are unusable).
  std::unique_ptr<grpc::ClientReaderInterface<v1::TaskEvent>> reader_;
  absl::Status setup_error_;
  bool finished_ = false;
};

}  // namespace corosched
