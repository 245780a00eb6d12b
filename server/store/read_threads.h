#pragma once

// A few threads that run a store's reads for callers that must not wait for
// them (gRPC handlers, TaskStore's ...Async reads): the caller queues the
// read and returns; the read runs on one of these threads and answers from
// there.
//
//   ReadThreads threads(2);
//   threads.Run([this, id, done = std::move(done)]() mutable {
//     std::move(done)(GetTask(id));
//   });
//
// Reads start in the order they were queued; with more than one thread they
// may finish in any order.
//
// Thread-safety: Run from any thread, including from a read as it runs (its
// callback). The destructor runs every queued read, and those they queue
// meanwhile, then joins the threads; a Run after that runs the read on the
// caller's thread, so a read is never dropped unanswered.

#include <deque>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"

namespace corosched::server {

class ReadThreads {
 public:
  using Read = absl::AnyInvocable<void() &&>;

  // Starts `threads` threads. REQUIRES: threads > 0.
  explicit ReadThreads(int threads);
  ~ReadThreads();
  ReadThreads(const ReadThreads&) = delete;
  ReadThreads& operator=(const ReadThreads&) = delete;

  // Queues `read`. Never blocks beyond a short mutex.
  void Run(Read read) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Loop() ABSL_LOCKS_EXCLUDED(mu_);

  absl::Mutex mu_;
  std::deque<Read> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // Threads that have not yet exited. A thread exits only once stopping_
  // is set and queue_ is empty, both under mu_, so a read queued while one
  // is running is run.
  int running_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::thread> threads_;  // last: started once the rest is set
};

}  // namespace corosched::server
