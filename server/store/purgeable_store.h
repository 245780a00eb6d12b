#pragma once

// The retention purge (RetentionPurger, --retention) of a durable store:
// SqliteStore and PostgresStore delete finished tasks through it.

#include "absl/time/time.h"
#include "server/store/task_store.h"

namespace corosched::server {

class PurgeableStore {
 public:
  virtual ~PurgeableStore() = default;

  // Deletes up to `max_rows` tasks that finished before `cutoff`, with their
  // events and wake ids, in small writes that queue behind other writes
  // (never one long transaction). Answers how many it deleted; fewer than
  // `max_rows` means none older are left. Not synced on its own: a crash
  // may bring some back, for the next purge.
  virtual void PurgeFinishedBeforeAsync(absl::Time cutoff, int max_rows,
                                        TaskStore::Done<int> done) = 0;
};

}  // namespace corosched::server
