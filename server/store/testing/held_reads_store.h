#pragma once

// For tests of callers that must not wait for the store (gRPC handlers and
// what they call): a TaskStore that forwards every call to another, except
// that it holds the answers of GetTaskAsync and FindWakeAsync until the
// test releases them. A caller that returns while its read is held did not
// wait for it; one that read synchronously instead shows in sync_reads().
//
//   MemoryStore memory;
//   HeldReadsStore store(memory);
//   runner.Start(record_with_fingerprint, ..., done);  // returns
//   EXPECT_EQ(store.held(), 1);           // its lookup waits for the test
//   EXPECT_EQ(store.sync_reads(), 0);
//   store.ReleaseOne();                   // the answer, on this thread
//
// A held read was made when it was called; only its answer waits.
//
// Thread-safety: every method from any thread.

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "server/store/task_store.h"

namespace corosched::server {

class HeldReadsStore final : public TaskStore {
 public:
  explicit HeldReadsStore(TaskStore& store) : store_(store) {}

  // Answers held and not yet released.
  int held() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(held_.size());
  }
  // Answers the oldest held read, on this thread; false when none is held.
  bool ReleaseOne() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::AnyInvocable<void() &&> answer;
    {
      absl::MutexLock lock(&mu_);
      if (held_.empty()) return false;
      answer = std::move(held_.front());
      held_.pop_front();
    }
    std::move(answer)();
    return true;
  }
  // GetTask calls so far: reads a caller waited for.
  int sync_reads() const { return sync_reads_.load(); }

  // --- TaskStore ---
  void GetTaskAsync(std::string id, Done<TaskRecord> done) override {
    store_.GetTaskAsync(std::move(id), Holding(std::move(done)));
  }
  void FindWakeAsync(std::string id, std::string request_id,
                     Done<std::optional<WakeRecord>> done) override {
    store_.FindWakeAsync(std::move(id), std::move(request_id),
                         Holding(std::move(done)));
  }
  absl::StatusOr<TaskRecord> GetTask(absl::string_view id) override {
    sync_reads_.fetch_add(1);
    return store_.GetTask(id);
  }
  void PutDefinitionAsync(v1::TaskDefinition definition, absl::Time now,
                          Done<PutDefinitionResult> done) override {
    store_.PutDefinitionAsync(std::move(definition), now, std::move(done));
  }
  absl::StatusOr<DefinitionRecord> GetDefinition(
      absl::string_view name, absl::string_view version) override {
    return store_.GetDefinition(name, version);
  }
  absl::StatusOr<DefinitionPage> ListDefinitions(
      const DefinitionQuery& query) override {
    return store_.ListDefinitions(query);
  }
  void CreateTaskAsync(TaskRecord record,
                       std::vector<v1::TaskEvent> first_events,
                       Done<CreateTaskResult> done) override {
    store_.CreateTaskAsync(std::move(record), std::move(first_events),
                           std::move(done));
  }
  absl::StatusOr<TaskPage> ListTasks(const TaskQuery& query) override {
    return store_.ListTasks(query);
  }
  void RecordProgressAsync(std::string id, TaskProgress progress,
                           Done<uint64_t> done) override {
    store_.RecordProgressAsync(std::move(id), std::move(progress),
                               std::move(done));
  }
  absl::StatusOr<EventBatch> ReadEvents(absl::string_view id,
                                        uint64_t after_sequence,
                                        int max_events) override {
    return store_.ReadEvents(id, after_sequence, max_events);
  }
  absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> CountTasksByStatus()
      override {
    return store_.CountTasksByStatus();
  }
  absl::StatusOr<std::map<v1::TaskStatus, uint64_t>> CountTasksByStatusIn(
      absl::string_view namespace_name) override {
    return store_.CountTasksByStatusIn(namespace_name);
  }
  void RecordWakeSignalAsync(std::string id, std::string request_id,
                             WakeRecord wake, v1::PendingSignal signal,
                             StatusDone done) override {
    store_.RecordWakeSignalAsync(std::move(id), std::move(request_id), wake,
                                 std::move(signal), std::move(done));
  }
  absl::Status ForEachUnfinishedTask(
      absl::FunctionRef<absl::Status(TaskRecord)> visit,
      int page_size) override {
    return store_.ForEachUnfinishedTask(visit, page_size);
  }

 private:
  // A `done` whose answer is held until released.
  template <typename T>
  Done<T> Holding(Done<T> done) {
    return [this, done = std::move(done)](absl::StatusOr<T> answer) mutable {
      absl::MutexLock lock(&mu_);
      held_.push_back(
          [done = std::move(done), answer = std::move(answer)]() mutable {
            done(std::move(answer));
          });
    };
  }

  TaskStore& store_;
  std::atomic<int> sync_reads_{0};
  absl::Mutex mu_;
  std::deque<absl::AnyInvocable<void() &&>> held_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server
