#include "server/cluster/work_router.h"

#include <algorithm>
#include <map>
#include <utility>

#include "server/daemon/logging.h"
#include "spdlog/spdlog.h"

namespace corosched::server {
namespace {

// A daemon that advertised consumers on a queue, and how many more tasks
// this look may hand it.
struct Target {
  std::string daemon_id;
  uint64_t room = 0;
};

}  // namespace

WorkRouter::WorkRouter(WorkRoutingStore& store, const Clock& clock,
                       WorkRouterHooks hooks, WorkRouterOptions options)
    : store_(store),
      clock_(clock),
      hooks_(std::move(hooks)),
      options_(options) {}

WorkRouter::~WorkRouter() { Stop(); }

void WorkRouter::Start() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] {
    while (true) {
      Look();
      absl::MutexLock lock(&mu_);
      auto stopping = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_;
      };
      mu_.AwaitWithTimeout(absl::Condition(&stopping), options_.interval);
      if (stopping_) return;
    }
  });
}

void WorkRouter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

size_t WorkRouter::Look() {
  absl::MutexLock look(&look_mu_);
  std::vector<QueueConsumers> waiting;
  std::vector<std::string> idle;
  for (const WorkQueueStats& queue : hooks_.stats()) {
    if (queue.pollers > 0) {
      waiting.push_back({queue.queue, "", queue.pollers});
    } else if (queue.depth > 0) {
      idle.push_back(queue.queue);
    }
  }
  Advertise(waiting);
  return idle.empty() ? 0 : HandOverIdle(idle);
}

void WorkRouter::Advertise(const std::vector<QueueConsumers>& waiting) {
  if (waiting.empty()) {
    advertised_.clear();  // lapses on its own after advertisement_ttl
    return;
  }
  const absl::Time now = clock_.Now();
  bool added = false;
  for (const QueueConsumers& queue : waiting) {
    added = added || !advertised_.contains(queue.queue);
  }
  if (!added && now < next_advertise_) return;
  absl::Status advertised =
      store_.AdvertiseConsumers(waiting, options_.advertisement_ttl);
  // A failure is tried again when the renewal is due, not at every look:
  // while the database is away, one warning a second is enough.
  if (!advertised.ok()) {
    spdlog::warn("event=work_advertise_failed {}", LogStatus(advertised));
  }
  advertised_.clear();
  for (const QueueConsumers& queue : waiting) advertised_.insert(queue.queue);
  next_advertise_ = now + options_.advertise_every;
}

size_t WorkRouter::HandOverIdle(const std::vector<std::string>& idle) {
  absl::StatusOr<std::vector<QueueConsumers>> found =
      store_.FindConsumers(idle);
  if (!found.ok()) {
    spdlog::warn("event=work_route_lookup_failed {}",
                 LogStatus(found.status()));
    return 0;
  }
  std::map<std::string, std::vector<Target>> targets;
  for (QueueConsumers& consumers : *found) {
    if (consumers.consumers == 0) continue;
    targets[consumers.queue].push_back(
        {std::move(consumers.daemon_id), consumers.consumers});
  }
  size_t handed = 0;
  for (auto& [queue, daemons] : targets) {
    uint64_t room = 0;
    for (const Target& target : daemons) room += target.room;
    const size_t want = static_cast<size_t>(
        std::min<uint64_t>(room, options_.max_handovers - handed));
    size_t next = 0;  // the daemons take turns
    for (const std::string& task : hooks_.queued(queue, want)) {
      while (daemons[next].room == 0) next = (next + 1) % daemons.size();
      Target& target = daemons[next];
      const bool gone = hooks_.hand_over(task, [&] {
        store_.HandOverAsync(
            task, target.daemon_id,
            [task, to = target.daemon_id](const absl::Status& status) {
              if (status.ok()) return;
              // The task stays with no daemon until it is claimed (a lost
              // lease: by its new owner; a failed write: once the release
              // reaches the database).
              spdlog::warn("event=work_handover_failed task={} to={} {}",
                           LogValue(task), LogValue(to), LogStatus(status));
            });
      });
      if (!gone) continue;  // leased meanwhile, or not recorded yet
      spdlog::debug("event=work_handover task={} queue={} to={}",
                    LogValue(task), LogValue(queue),
                    LogValue(target.daemon_id));
      --target.room;
      next = (next + 1) % daemons.size();
      ++handed;
    }
    if (handed >= options_.max_handovers) break;
  }
  return handed;
}

}  // namespace corosched::server
