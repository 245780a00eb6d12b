#pragma once

// What a store's writer tells the daemon's metrics about each commit: the
// SQLite group-commit writer (group_commit.h) and the PostgreSQL one
// (postgres_writer.h) report through the same observer.

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace corosched::server {

struct CommitStats {
  // Writes in the transaction (including those whose apply failed).
  int writes = 0;
  // Writes still queued when this batch was taken: the next batch's start.
  int queued = 0;
  // BEGIN to the end of COMMIT, fsync included.
  absl::Duration duration;
  // False when the batch committed without waiting for its flush to disk
  // (SQLite's synchronous=NORMAL, PostgreSQL's synchronous_commit=off).
  bool synced = true;
};

// Metrics hooks for the daemon (commit latency histogram, batch sizes,
// failures). Called on the writer thread: keep it cheap, never block.
class CommitObserver {
 public:
  virtual ~CommitObserver() = default;
  virtual void OnCommit(const CommitStats& stats) = 0;
  // Once, when the writer enters its failed state (the SQLite writer; the
  // PostgreSQL writer never does: it reconnects).
  virtual void OnStorageFailure(const absl::Status& reason) = 0;
};

}  // namespace corosched::server
