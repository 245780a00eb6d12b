// MemoryStore's listings (docs in memory_store.h): the order of tasks and
// definitions walked under the order's mutex, each task copied from its
// shard after it, so no listing holds the order's mutex while it waits for a
// shard's (the lock order is a shard's, then the order's).

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "server/store/memory_store.h"  // IWYU pragma: associated
#include "server/store/namespace_keys.h"
#include "server/store/store_keys.h"

namespace corosched::server {
namespace {

// Where a newest-first listing starts: just after the token's position.
absl::StatusOr<uint64_t> ListStart(const std::string& page_token) {
  if (page_token.empty()) return UINT64_MAX;
  absl::StatusOr<uint64_t> after = DecodePageToken(page_token);
  if (!after.ok()) return after.status();
  return *after - 1;
}

}  // namespace

absl::StatusOr<DefinitionPage> MemoryStore::ListDefinitions(
    const DefinitionQuery& query) {
  absl::StatusOr<uint64_t> start = ListStart(query.page_token);
  if (!start.ok()) return start.status();
  DefinitionPage page;
  absl::MutexLock lock(&mu_);
  uint64_t last_position = 0;
  for (auto it = definitions_by_position_.lower_bound(*start);
       it != definitions_by_position_.end(); ++it) {
    if (!query.name.empty() && it->second.first != query.name) continue;
    if (!query.namespace_name.empty() &&
        !KeyInNamespace(it->second.first, query.namespace_name)) {
      continue;
    }
    if (static_cast<int>(page.definitions.size()) == query.page_size) {
      page.next_page_token = EncodePageToken(last_position);
      break;
    }
    page.definitions.push_back(definitions_.at(it->second).record);
    last_position = it->first;
  }
  return page;
}

bool MemoryStore::Matches(const StoredTask& task, const TaskQuery& query) {
  const TaskRecord& record = task.record;
  if (!query.namespace_name.empty() &&
      !KeyInNamespace(record.id, query.namespace_name)) {
    return false;
  }
  if (query.status != v1::TASK_STATUS_UNSPECIFIED &&
      record.snapshot.status() != query.status) {
    return false;
  }
  if (!query.definition_name.empty() &&
      record.definition->name() != query.definition_name) {
    return false;
  }
  return std::all_of(
      query.labels.begin(), query.labels.end(), [&record](const auto& label) {
        auto it = record.labels.find(label.first);
        return it != record.labels.end() && it->second == label.second;
      });
}

std::vector<std::pair<uint64_t, std::string>> MemoryStore::PositionsFrom(
    uint64_t start, size_t count) {
  std::vector<std::pair<uint64_t, std::string>> positions;
  absl::MutexLock lock(&mu_);
  positions.reserve(std::min(count, tasks_by_position_.size()));
  for (auto it = tasks_by_position_.lower_bound(start);
       it != tasks_by_position_.end() && positions.size() < count; ++it) {
    positions.emplace_back(it->first, it->second);
  }
  return positions;
}

std::optional<TaskRecord> MemoryStore::CopyIf(
    uint64_t position, const std::string& id,
    absl::FunctionRef<bool(const StoredTask&)> keep) {
  Shard& shard = ShardOf(id);
  absl::MutexLock lock(&shard.mu);
  const StoredTask* task = FindTask(shard, id);
  if (task == nullptr || task->position != position || !keep(*task)) {
    return std::nullopt;
  }
  return task->record;
}

absl::StatusOr<TaskPage> MemoryStore::ListTasks(const TaskQuery& query) {
  absl::StatusOr<uint64_t> start = ListStart(query.page_token);
  if (!start.ok()) return start.status();
  TaskPage page;
  uint64_t last_position = 0;
  // The order in chunks, each task looked up in its shard after: a listing
  // never holds the order's mutex while it waits for a shard's.
  for (uint64_t from = *start; from > 0;) {
    auto chunk = PositionsFrom(from, 256);
    if (chunk.empty()) break;
    for (const auto& [position, id] : chunk) {
      std::optional<TaskRecord> record = CopyIf(
          position, id,
          [&query](const StoredTask& task) { return Matches(task, query); });
      if (!record.has_value()) continue;
      if (static_cast<int>(page.tasks.size()) == query.page_size) {
        page.next_page_token = EncodePageToken(last_position);
        return page;
      }
      page.tasks.push_back(*std::move(record));
      last_position = position;
    }
    from = chunk.back().first - 1;
  }
  return page;
}

absl::Status MemoryStore::ForEachUnfinishedTask(
    absl::FunctionRef<absl::Status(TaskRecord)> visit, int page_size) {
  // Oldest first, a page at a time, each page copied under the locks and
  // visited outside them.
  std::vector<std::pair<uint64_t, std::string>> positions =
      PositionsFrom(UINT64_MAX, SIZE_MAX);
  std::reverse(positions.begin(), positions.end());
  const size_t page = page_size > 0 ? static_cast<size_t>(page_size) : 4096;
  for (size_t begin = 0; begin < positions.size(); begin += page) {
    std::vector<TaskRecord> unfinished;
    for (size_t i = begin; i < std::min(positions.size(), begin + page); ++i) {
      std::optional<TaskRecord> record = CopyIf(
          positions[i].first, positions[i].second, [](const StoredTask& task) {
            return !task.record.finished_at.has_value();
          });
      if (record.has_value()) unfinished.push_back(*std::move(record));
    }
    for (TaskRecord& record : unfinished) {
      if (absl::Status visited = visit(std::move(record)); !visited.ok()) {
        return visited;
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace corosched::server
