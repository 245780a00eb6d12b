#include "server/store/memory_store.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "core/quote.h"
#include "server/store/namespace_keys.h"
#include "server/store/store_keys.h"

namespace corosched::server {
namespace {

absl::Status TaskNotFound(absl::string_view id) {
  return absl::NotFoundError(absl::StrCat("no task with id ", QuoteInput(id)));
}

}  // namespace

absl::StatusOr<PutDefinitionResult> MemoryStore::PutDefinition(
    const v1::TaskDefinition& definition, absl::Time now) {
  DefinitionKey key(definition.name(), definition.version());
  absl::MutexLock lock(&mu_);
  auto it = definitions_.find(key);
  if (it != definitions_.end()) {
    if (DeterministicBytes(it->second.record.definition) !=
        DeterministicBytes(definition)) {
      return absl::AlreadyExistsError(absl::StrCat(
          "definition ", QuoteInput(key.first), " version ",
          QuoteInput(key.second),
          " is already registered with different contents; register the "
          "change under a new version"));
    }
    return PutDefinitionResult{it->second.record, false};
  }
  StoredDefinition stored{{definition, now}, next_position_++};
  definitions_by_position_.emplace(stored.position, key);
  latest_version_[key.first] = key.second;
  it = definitions_.emplace(std::move(key), std::move(stored)).first;
  return PutDefinitionResult{it->second.record, true};
}

absl::StatusOr<DefinitionRecord> MemoryStore::GetDefinition(
    absl::string_view name, absl::string_view version) {
  absl::MutexLock lock(&mu_);
  std::string wanted(version);
  if (wanted.empty()) {
    auto latest = latest_version_.find(name);
    if (latest == latest_version_.end()) {
      return absl::NotFoundError(absl::StrCat(
          "no definition named ", QuoteInput(name), " is registered"));
    }
    wanted = latest->second;
  }
  auto it = definitions_.find(DefinitionKey(std::string(name), wanted));
  if (it == definitions_.end()) {
    return absl::NotFoundError(absl::StrCat("no definition ", QuoteInput(name),
                                            " version ", QuoteInput(version),
                                            " is registered"));
  }
  return it->second.record;
}

void MemoryStore::PutDefinitionAsync(v1::TaskDefinition definition,
                                     absl::Time now,
                                     Done<PutDefinitionResult> done) {
  absl::StatusOr<PutDefinitionResult> put = PutDefinition(definition, now);
  if (done) done(std::move(put));
}

void MemoryStore::CreateTaskAsync(TaskRecord record,
                                  std::vector<v1::TaskEvent> first_events,
                                  Done<CreateTaskResult> done) {
  absl::StatusOr<CreateTaskResult> created =
      CreateTask(std::move(record), std::move(first_events));
  if (done) done(std::move(created));
}

absl::StatusOr<CreateTaskResult> MemoryStore::CreateTask(
    TaskRecord record, std::vector<v1::TaskEvent> first_events) {
  // The record is moved in; the answer holds only what the caller lacks.
  CreateTaskResult created;
  created.created = true;
  created.record.id = record.id;
  const EncodedEvents events = Encode(first_events);
  Shard& shard = ShardOf(record.id);
  absl::MutexLock lock(&shard.mu);
  if (StoredTask* existing = FindTask(shard, record.id)) {
    if (existing->record.request_fingerprint.empty() ||
        existing->record.request_fingerprint != record.request_fingerprint) {
      return absl::AlreadyExistsError(absl::StrCat(
          "task id ", QuoteInput(record.id),
          " was already used by a different submit request; choose another "
          "id, or repeat the original request exactly"));
    }
    return CreateTaskResult{existing->record, false};
  }
  uint64_t position;
  {
    absl::MutexLock order(&mu_);
    position = next_position_++;
    tasks_by_position_.emplace(position, record.id);
  }
  ++shard.status_counts[record.snapshot.status()];
  StoredTask& task = shard.tasks[record.id];  // new: FindTask found none
  task.record = std::move(record);
  task.position = position;
  AppendEvents(task, events);
  created.record.last_event_sequence = task.record.last_event_sequence;
  return created;
}

absl::StatusOr<TaskRecord> MemoryStore::GetTask(absl::string_view id) {
  Shard& shard = ShardOf(id);
  absl::MutexLock lock(&shard.mu);
  StoredTask* task = FindTask(shard, id);
  if (task == nullptr) return TaskNotFound(id);
  return task->record;
}

void MemoryStore::GetTaskAsync(std::string id, Done<TaskRecord> done) {
  done(GetTask(id));
}

void MemoryStore::RecordProgressAsync(std::string id, TaskProgress progress,
                                      Done<uint64_t> done) {
  absl::StatusOr<uint64_t> written = RecordProgress(id, std::move(progress));
  if (done) done(std::move(written));
}

absl::StatusOr<uint64_t> MemoryStore::RecordProgress(absl::string_view id,
                                                     TaskProgress progress) {
  const EncodedEvents events = Encode(progress.events);
  uint64_t last;
  std::optional<uint64_t> finished;
  {
    Shard& shard = ShardOf(id);
    absl::MutexLock lock(&shard.mu);
    StoredTask* task = FindTask(shard, id);
    if (task == nullptr) return TaskNotFound(id);
    SetSnapshot(shard, *task, progress.snapshot);  // the old one freed later
    AppendEvents(*task, events);
    last = task->record.last_event_sequence;
    if (progress.finished_at.has_value() &&
        !task->record.finished_at.has_value()) {
      task->record.finished_at = progress.finished_at;
      finished = task->position;
    }
  }
  if (finished.has_value()) {
    // Destroyed after every lock is released: a forgotten task's events and
    // snapshot are dozens of frees, which other threads need not wait for.
    std::vector<TaskMap::node_type> forgotten = Retire(*finished);
  }
  return last;
}

std::vector<MemoryStore::TaskMap::node_type> MemoryStore::Retire(
    uint64_t position) {
  std::vector<std::string> evicted;
  {
    absl::MutexLock lock(&mu_);
    finished_order_.push_back(position);
    while (finished_order_.size() > options_.retain_finished) {
      auto it = tasks_by_position_.find(finished_order_.front());
      finished_order_.pop_front();
      if (it == tasks_by_position_.end()) continue;
      evicted.push_back(std::move(it->second));
      tasks_by_position_.erase(it);
    }
  }
  std::vector<TaskMap::node_type> forgotten;
  for (const std::string& id : evicted) {
    Shard& shard = ShardOf(id);
    absl::MutexLock lock(&shard.mu);
    auto it = shard.tasks.find(id);
    if (it == shard.tasks.end()) continue;
    --shard.status_counts[it->second.record.snapshot.status()];
    forgotten.push_back(shard.tasks.extract(it));
  }
  return forgotten;
}

absl::StatusOr<EventBatch> MemoryStore::ReadEvents(absl::string_view id,
                                                   uint64_t after_sequence,
                                                   int max_events) {
  EventBatch batch;
  // The wanted events' bytes, copied under the lock and parsed after it.
  std::string bytes;
  std::vector<size_t> sizes;
  {
    Shard& shard = ShardOf(id);
    absl::MutexLock lock(&shard.mu);
    StoredTask* task = FindTask(shard, id);
    if (task == nullptr) return TaskNotFound(id);
    const std::vector<uint64_t>& ends = task->event_ends;
    batch.last_sequence = task->record.last_event_sequence;
    batch.task_ended = task->ended;
    // Index of the first wanted event: a dropped one reads as the first kept.
    const uint64_t first = after_sequence > task->dropped_events
                               ? after_sequence - task->dropped_events
                               : 0;
    if (first < ends.size() && max_events > 0) {
      const uint64_t last = std::min<uint64_t>(
          ends.size(), first + static_cast<uint64_t>(max_events));
      const uint64_t begin = first == 0 ? 0 : ends[first - 1];
      bytes.assign(task->event_log, begin, ends[last - 1] - begin);
      for (uint64_t i = first; i < last; ++i) {
        sizes.push_back(ends[i] - (i == 0 ? 0 : ends[i - 1]));
      }
    }
  }
  size_t offset = 0;
  for (const size_t size : sizes) {
    if (!batch.events.emplace_back().ParseFromArray(bytes.data() + offset,
                                                    static_cast<int>(size))) {
      return absl::InternalError(absl::StrCat(
          "task ", QuoteInput(id), ": an event in memory does not parse"));
    }
    offset += size;
  }
  return batch;
}

absl::StatusOr<std::map<v1::TaskStatus, uint64_t>>
MemoryStore::CountTasksByStatus() {
  std::map<v1::TaskStatus, uint64_t> counts;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    for (const auto& [status, count] : shard.status_counts) {
      if (count > 0) counts[status] += count;
    }
  }
  return counts;
}

absl::StatusOr<std::map<v1::TaskStatus, uint64_t>>
MemoryStore::CountTasksByStatusIn(absl::string_view namespace_name) {
  std::map<v1::TaskStatus, uint64_t> counts;
  for (Shard& shard : shards_) {
    absl::MutexLock lock(&shard.mu);
    for (const auto& [id, task] : shard.tasks) {
      if (KeyInNamespace(task.record.id, namespace_name)) {
        ++counts[task.record.snapshot.status()];
      }
    }
  }
  return counts;
}

void MemoryStore::FindWakeAsync(std::string id, std::string request_id,
                                Done<std::optional<WakeRecord>> done) {
  done(FindWake(id, request_id));
}

void MemoryStore::RecordWakeSignalAsync(std::string id, std::string request_id,
                                        WakeRecord wake,
                                        v1::PendingSignal signal,
                                        StatusDone done) {
  absl::Status recorded = RecordWakeSignal(id, request_id, wake, signal);
  if (done) done(std::move(recorded));
}

absl::StatusOr<std::optional<WakeRecord>> MemoryStore::FindWake(
    absl::string_view id, absl::string_view request_id) {
  Shard& shard = ShardOf(id);
  absl::MutexLock lock(&shard.mu);
  StoredTask* task = FindTask(shard, id);
  if (task == nullptr) return TaskNotFound(id);
  auto it = task->wakes.find(request_id);
  if (it == task->wakes.end()) return std::nullopt;
  return it->second;
}

absl::Status MemoryStore::RecordWakeSignal(absl::string_view id,
                                           absl::string_view request_id,
                                           const WakeRecord& wake,
                                           const v1::PendingSignal& signal) {
  Shard& shard = ShardOf(id);
  absl::MutexLock lock(&shard.mu);
  StoredTask* task = FindTask(shard, id);
  if (task == nullptr) return TaskNotFound(id);
  if (!request_id.empty()) task->wakes.emplace(request_id, wake);
  AddPendingSignal(task->record.snapshot, signal);  // the status stays
  return absl::OkStatus();
}

MemoryStore::Shard& MemoryStore::ShardOf(absl::string_view id) {
  return shards_[absl::HashOf(id) % kShards];
}

MemoryStore::StoredTask* MemoryStore::FindTask(Shard& shard,
                                               absl::string_view id) {
  auto it = shard.tasks.find(id);
  return it == shard.tasks.end() ? nullptr : &it->second;
}

void MemoryStore::SetSnapshot(Shard& shard, StoredTask& task,
                              v1::TaskSnapshot& snapshot) {
  --shard.status_counts[task.record.snapshot.status()];
  ++shard.status_counts[snapshot.status()];
  task.record.snapshot.Swap(&snapshot);
}

MemoryStore::EncodedEvents MemoryStore::Encode(
    std::vector<v1::TaskEvent>& events) {
  EncodedEvents encoded;
  encoded.sizes.reserve(events.size());
  for (v1::TaskEvent& event : events) {
    event.clear_sequence();  // AppendEvents writes it
    const size_t before = encoded.bytes.size();
    event.AppendToString(&encoded.bytes);
    encoded.sizes.push_back(encoded.bytes.size() - before);
  }
  encoded.ends_task = !events.empty() && events.back().has_finished();
  return encoded;
}

void MemoryStore::AppendEvents(StoredTask& task,
                               const EncodedEvents& events) const {
  if (events.sizes.empty()) return;
  // Each event: field 1 (sequence, a varint), then the event's own bytes;
  // a parser takes fields in any order.
  size_t offset = 0;
  for (const size_t size : events.sizes) {
    uint64_t sequence = task.dropped_events + task.event_ends.size() + 1;
    task.event_log.push_back(static_cast<char>(1 << 3));  // field 1, varint
    for (; sequence >= 0x80; sequence >>= 7) {
      task.event_log.push_back(static_cast<char>((sequence & 0x7f) | 0x80));
    }
    task.event_log.push_back(static_cast<char>(sequence));
    task.event_log.append(events.bytes, offset, size);
    offset += size;
    task.event_ends.push_back(task.event_log.size());
  }
  task.ended = events.ends_task;
  // Dropped in steps of a quarter of the bound, so each event is moved
  // a bounded number of times.
  const uint64_t keep = options_.max_events_per_task;
  if (task.event_ends.size() > keep + keep / 4) {
    const size_t drop = task.event_ends.size() - keep;
    const uint64_t cut = task.event_ends[drop - 1];
    task.event_log.erase(0, cut);
    task.event_ends.erase(task.event_ends.begin(),
                          task.event_ends.begin() + static_cast<long>(drop));
    for (uint64_t& end : task.event_ends) end -= cut;
    task.dropped_events += drop;
  }
  task.record.last_event_sequence =
      task.dropped_events + task.event_ends.size();
}

}  // namespace corosched::server
