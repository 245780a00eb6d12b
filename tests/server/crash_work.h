#pragma once

// The crash test's work load (crash_test.cc): a client that submits tasks
// with one `work` state, and workers that take their items and complete
// them, all through kill -9 restarts. The ledger keeps, on the checker's
// side, what the daemon acknowledged, and Check() verifies it against the
// daemon at the end:
//  - every acknowledged submit is there and finished COMPLETED (nothing
//    lost, nothing stuck);
//  - its result is the one a worker's acknowledged CompleteWork carried,
//    or, when no answer was acknowledged (the daemon died first), one a
//    worker sent; never two acknowledged completions for one task;
//  - the work state was left once (DONE entered once);
//  - a task whose first attempt a worker failed ended with a later one.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "grpcpp/grpcpp.h"

namespace corosched::e2e {

// The current daemon's stub (replaced at every restart).
using StubSource = std::function<std::shared_ptr<v1::Scheduler::Stub>()>;

// The codes a request may meet while the daemon is down, starting or
// stopping; the crash test's clients retry them.
bool RetryableInCrashTest(grpc::StatusCode code);

struct WorkLedger {
  absl::Mutex mu;
  // Acknowledged submits (task ids).
  std::set<std::string> tasks ABSL_GUARDED_BY(mu);
  // task id -> results a worker sent in CompleteWork
  std::map<std::string, std::set<std::string>> sent ABSL_GUARDED_BY(mu);
  // task id -> results whose CompleteWork was answered OK
  std::map<std::string, std::set<std::string>> acked ABSL_GUARDED_BY(mu);
  // Answers that no crash explains.
  std::vector<std::string> unexpected ABSL_GUARDED_BY(mu);
  // For the summary: answers refused because the lease ended while the
  // daemon was down (or a crash hid an accepted one), and items of a later
  // attempt than the workers' own failures explain.
  int refused ABSL_GUARDED_BY(mu) = 0;
  int retried ABSL_GUARDED_BY(mu) = 0;

  void Unexpected(std::string what) ABSL_LOCKS_EXCLUDED(mu);
};

// Submits work tasks "w<n>" one at a time until `stop`.
class WorkSubmitter {
 public:
  WorkSubmitter(StubSource stubs, WorkLedger& ledger, std::atomic<bool>& stop)
      : stubs_(std::move(stubs)), ledger_(ledger), stop_(stop) {}
  void Run();

 private:
  StubSource stubs_;
  WorkLedger& ledger_;
  std::atomic<bool>& stop_;
};

// Polls the crash test's queue and answers each item until `stop`: fails
// the first attempt of every third task (retryable), completes the rest
// with "<task id>/<attempt>".
class CrashWorker {
 public:
  CrashWorker(StubSource stubs, WorkLedger& ledger, std::atomic<bool>& stop)
      : stubs_(std::move(stubs)), ledger_(ledger), stop_(stop) {}
  void Run();

 private:
  void Answer(const v1::WorkItem& item);

  StubSource stubs_;
  WorkLedger& ledger_;
  std::atomic<bool>& stop_;
};

// Waits (up to 60 s) until every acknowledged work task finished; the
// workers must still run. False if one did not.
bool AwaitWorkTasks(v1::Scheduler::Stub& stub, WorkLedger& ledger);

// Checks the ledger against the daemon behind `stub` (gtest expectations);
// `listed` holds every task id the daemon lists.
void CheckWorkLedger(v1::Scheduler::Stub& stub, WorkLedger& ledger,
                     const std::multiset<std::string>& listed);

}  // namespace corosched::e2e
