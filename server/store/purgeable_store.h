#pragma once

// The retention purge (RetentionPurger, --retention) of a durable store:
// SqliteStore and PostgresStore delete finished tasks through it.

#include "absl/functional/any_invocable.h"
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

// PurgeFinishedBeforeAsync in chunks, for either store: calls
// `delete_chunk(n, answer)` to delete up to n (at most `chunk_tasks`) of the
// oldest finished tasks in one write, and, once it answered, the next chunk,
// which so queues behind whatever writes arrived meanwhile. Stops after
// `max_rows` tasks, at a chunk that deleted fewer than asked (nothing older
// is left), or at the first error; answers `done` with the number deleted
// or that error.
using DeleteFinishedChunk =
    absl::AnyInvocable<void(int max_tasks, TaskStore::Done<int> answer)>;
void PurgeInChunks(int chunk_tasks, int max_rows,
                   DeleteFinishedChunk delete_chunk, TaskStore::Done<int> done);

}  // namespace corosched::server
