// WorkQueues' side of handing a task over to another daemon (work_router.h):
// which items wait, and taking one back out before any worker leases it.

#include <algorithm>
#include <string>
#include <vector>

#include "server/work/work_queues.h"  // IWYU pragma: associated

namespace corosched::server {

std::vector<std::string> WorkQueues::QueuedTasks(absl::string_view queue,
                                                 size_t max_items) {
  absl::MutexLock lock(&mu_);
  std::vector<std::string> tasks;
  auto it = queues_.find(queue);
  if (it == queues_.end()) return tasks;
  const std::deque<std::string>& ready = it->second.ready;
  const size_t count = std::min(max_items, ready.size());
  tasks.assign(ready.begin(), ready.begin() + static_cast<ptrdiff_t>(count));
  return tasks;
}

std::optional<WorkSpec> WorkQueues::Withdraw(absl::string_view task_id) {
  absl::MutexLock lock(&mu_);
  auto it = items_.find(task_id);
  // Leased (or restored with its lease): its worker holds it here.
  if (it == items_.end() || it->second.leased) return std::nullopt;
  Item& item = it->second;
  const std::string queue_name = item.spec.queue;
  Queue& queue = queues_[queue_name];
  queue.ready.erase(
      std::find(queue.ready.begin(), queue.ready.end(), item.spec.task_id));
  if (item.indexed_deadline != absl::InfiniteFuture()) {
    deadlines_.erase({item.indexed_deadline, item.spec.task_id});
  }
  std::optional<WorkSpec> spec = std::move(item.spec);
  items_.erase(it);
  DropQueueIfIdle(queue_name);
  return spec;
}

}  // namespace corosched::server
