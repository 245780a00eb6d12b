#pragma once

// The bounded load of the failover tests (kill -9 of a daemon, a restart of
// PostgreSQL): clients submit tasks and wake each three times, spreading
// their calls over the daemons, while the test breaks something. Ids are the
// clients' own (task ids, wake request ids), so the ledger knows exactly
// what was acknowledged, and a call that meets UNAVAILABLE (a dead daemon,
// a database outage) is sent again, with the same ids, to the next daemon.
//
// Each task runs ThreeRecordedTicks(): each wake's payload `k` (its request
// id) lands in a variable, and the result lists the three. So the result
// shows, from the daemon's own answer, that every acknowledged wake was
// delivered exactly once: a lost one leaves the task awaiting, a doubled one
// ends it early with a wrong result.
//
// Shape: each client first submits all its tasks, then wakes them tick by
// tick. Tasks are spread over the daemons, so at any moment of the load each
// daemon owns unfinished tasks that others' wakes must reach (the inbox),
// and the fault always leaves tasks that another daemon must take over.

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "corosched/v1/scheduler.grpc.pb.h"

namespace corosched::cluster_test {

inline constexpr int kTicks = 3;

// W1, W2, W3 await `tick`; each next state keeps the payload's `k`; the
// result is "<k1>,<k2>,<k3>".
v1::TaskDefinition ThreeRecordedTicks();

// What the daemons acknowledged, as the clients saw it.
struct Ledger {
  absl::Mutex mu;
  std::set<std::string> tasks ABSL_GUARDED_BY(mu);
  // task id -> acknowledged wake request ids
  std::map<std::string, std::set<std::string>> wakes ABSL_GUARDED_BY(mu);
  // Answers no fault explains; a client stops at its first.
  std::vector<std::string> unexpected ABSL_GUARDED_BY(mu);
  // Calls sent again after a retryable answer (for the summary).
  int retries ABSL_GUARDED_BY(mu) = 0;
};

struct LoadOptions {
  int clients = 3;
  int tasks_per_client = 8;
  // How long a client keeps resending one call.
  absl::Duration call_timeout = absl::Seconds(60);
};

class ClusterLoad {
 public:
  // `stubs[i]`: daemon i (a killed one keeps its stub: calls to it fail
  // UNAVAILABLE and move on).
  ClusterLoad(std::vector<std::shared_ptr<v1::Scheduler::Stub>> stubs,
              LoadOptions options);
  ~ClusterLoad();  // joins

  // Starts the clients' threads.
  void Start();
  // The calls the whole load makes: submits and wakes.
  int total_calls() const;
  // Waits until `count` calls were acknowledged; false after `timeout`.
  bool WaitForAcknowledged(int count, absl::Duration timeout);
  // Waits for every client to finish (each call is bounded by
  // call_timeout).
  void Join();

  Ledger& ledger() { return ledger_; }

 private:
  void RunClient(int client);
  // Sends `call` to daemon `first`, then the next ones, until it is
  // answered with other than a retryable code; false on a code no fault
  // explains, or after call_timeout.
  template <typename Call>
  bool Send(const std::string& what, int first, Call call);

  const std::vector<std::shared_ptr<v1::Scheduler::Stub>> stubs_;
  const LoadOptions options_;
  Ledger ledger_;
  std::atomic<int> acknowledged_{0};
  std::vector<std::thread> threads_;
};

// The checks after the load, against the daemons behind `readers` (gtest
// expectations; each failure names the task):
//  - every acknowledged submit finished COMPLETED within `finish_timeout`
//    (all tasks together), listed once by every reader;
//  - its result holds exactly its acknowledged wakes' request ids, each
//    once;
//  - each acknowledged wake sent again is answered as a duplicate.
void ExpectAcknowledgedApplied(Ledger& ledger,
                               const std::vector<v1::Scheduler::Stub*>& readers,
                               absl::Duration finish_timeout);

}  // namespace corosched::cluster_test
