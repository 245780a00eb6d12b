#pragma once

// The PostgreSQL store's connections for reads and for the cluster calls
// that answer at once (claims, lease renewals): up to `size` connections,
// each lent to one caller at a time.
//
// A connection found lost is reconnected by the next caller that borrows
// it, with back-off shared by the pool (min_backoff doubling to
// max_backoff): while the database cannot be reached, calls answer
// UNAVAILABLE at once instead of each waiting for a connect timeout.
//
// Thread-safety: Run from any thread; it blocks while every connection is
// lent.

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/store/postgres_connection.h"

namespace corosched::server {

class PgPool {
 public:
  // REQUIRES: connections is not empty.
  PgPool(std::vector<std::unique_ptr<PgConnection>> connections,
         absl::Duration min_backoff, absl::Duration max_backoff);

  // Runs `use` with a connection. UNAVAILABLE, without calling it, while
  // the database cannot be reached.
  absl::Status Run(absl::FunctionRef<absl::Status(PgConnection&)> use)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  bool HasIdle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !idle_.empty();
  }
  // Reconnects `connection` if the back-off allows.
  absl::Status Revive(PgConnection& connection) ABSL_LOCKS_EXCLUDED(mu_);

  const absl::Duration min_backoff_;
  const absl::Duration max_backoff_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<PgConnection>> idle_ ABSL_GUARDED_BY(mu_);
  absl::Time next_attempt_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  absl::Duration backoff_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server
