#pragma once

// Joins a task's progress writes while they wait in a store's write queue,
// so that a task that records several polls between two commits costs one
// row update, not one per poll. It knows nothing of the storage engine: a
// store that queues its writes for a group commit (SqliteStore) keeps one
// ProgressJoiner and asks it, before queuing a write of a task, whether the
// write joins one already queued.
//
//   // RecordProgressAsync:
//   std::shared_ptr<ProgressJoiner::Queued> queued =
//       joiner_.AddProgress(id, std::move(progress), std::move(done));
//   if (queued == nullptr) return;  // joined a write still queued
//   Queue({.apply = [=](Db& db) { return Write(db, id, *queued->Take()); },
//          .done = [=](result) { joiner_.Answer(id, *queued, result); }});
//
//   // Any other write of task `id` (a wake; a create that may not be
//   // joined), just before it is queued:
//   joiner_.EndJoining(id);
//
// The rules, each a guarantee the SQLite store's tests hold it to
// (sqlite_store_progress_test.cc) and its own (progress_joiner_test.cc):
//  1. Progress of task T joins T's queued write W while W is still queued
//     (the writer has not taken it: Queued::Take) and no other write of T
//     was queued after W (EndJoining). The joint progress is the latest
//     snapshot, every event in the order recorded, and the finish if any;
//     every `done` that joined is answered with W's answer.
//  2. Durable progress (TaskProgress::durable: a client waits for it) never
//     joins: W may be a write the store will not sync. Later progress may
//     join it, and is then synced with it.
//  3. A create may be joined (AddCreate) only when no other task can hold
//     its id (a daemon-chosen one), since what joins it is written as that
//     task's. What joined a create that is refused is refused with it (the
//     store answers it with the create's error).
//
// Thread-safety: every method from any thread. Lock order: the joiner's
// mutex, then a Queued's.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/store/task_store.h"

namespace corosched::server {

class ProgressJoiner {
 public:
  using Done = TaskStore::Done<uint64_t>;

  // A queued write that progress of its task may join.
  class Queued {
   public:
    // When the store applies the write: the progress to write (a progress
    // write's own, with everything that joined it; for a create, what
    // joined it, or nullopt when nothing did). Nothing joins it after this.
    std::optional<TaskProgress> Take() ABSL_LOCKS_EXCLUDED(mu_);

   private:
    friend class ProgressJoiner;

    // Adds `progress` and `done` unless the write was taken; false (and
    // both left as they were) when it was.
    bool Join(TaskProgress& progress, Done& done) ABSL_LOCKS_EXCLUDED(mu_);

    absl::Mutex mu_;
    bool taken_ ABSL_GUARDED_BY(mu_) = false;
    std::optional<TaskProgress> progress_ ABSL_GUARDED_BY(mu_);
    std::vector<Done> dones_ ABSL_GUARDED_BY(mu_);
  };

  // Progress of task `id`, answered through `done` (may be null): joins the
  // task's queued write and returns null, or returns a new Queued holding
  // both, which later progress may join; the caller queues a write for it.
  std::shared_ptr<Queued> AddProgress(const std::string& id,
                                      TaskProgress progress, Done done)
      ABSL_LOCKS_EXCLUDED(mu_);
  // A create of task `id` that later progress may join (rule 3); the
  // caller queues it. Replaces whatever of `id` was joinable.
  std::shared_ptr<Queued> AddCreate(const std::string& id)
      ABSL_LOCKS_EXCLUDED(mu_);
  // No progress joins a write of task `id` queued before now. REQUIRES:
  // called just before queuing a write of `id` that is not a Queued's.
  void EndJoining(absl::string_view id) ABSL_LOCKS_EXCLUDED(mu_);

  // Once `queued`'s write is answered (stored, refused, or failed with its
  // batch): nothing joins it any more, and it hands over the `done`s of the
  // progress in it, in the order they came, for the caller to answer.
  std::vector<Done> Finish(const std::string& id, Queued& queued)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Finish, then answers each `done` with `answer`.
  void Answer(const std::string& id, Queued& queued,
              const absl::StatusOr<uint64_t>& answer) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  absl::Mutex mu_;
  // Each task's last queued write, while progress may still join it.
  absl::flat_hash_map<std::string, std::shared_ptr<Queued>> joinable_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server
