// WorkQueues: queues, consumers and dispatch. Leases and outcomes are in
// work_leases.cc.

#include "server/work/work_queues.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/work/work_checks.h"
#include "server/work/work_token.h"

namespace corosched::server {

WorkQueues::WorkQueues(Clock& clock, OutcomeCallback on_outcome,
                       DeadlineCallback on_earlier_deadline,
                       WorkQueuesObserver* observer)
    : clock_(clock),
      on_outcome_(std::move(on_outcome)),
      on_earlier_deadline_(std::move(on_earlier_deadline)),
      observer_(observer) {}

void WorkQueues::Notify(const Effects::Observed& observed) {
  for (const std::string& queue : observed.queued) {
    observer_->OnItemQueued(queue);
  }
  for (const auto& [queue, schedule_to_start] : observed.leased) {
    observer_->OnItemLeased(queue, schedule_to_start);
  }
  for (const auto& [queue, kind] : observed.expired) {
    observer_->OnLeaseExpired(queue, kind);
  }
  for (const WorkAttemptEnd& end : observed.ended) {
    observer_->OnAttemptEnded(end);
  }
}

void WorkQueues::Run(Effects effects) {
  // First, so that a lease is counted before its worker can answer it.
  if (observer_ != nullptr) Notify(effects.observed);
  for (Effects::Delivery& delivery : effects.deliveries) {
    if (delivery.poll_done) {
      std::move(delivery.poll_done)(std::move(delivery.leases));
      continue;
    }
    for (WorkLease& lease : delivery.leases) {
      (*delivery.on_item)(std::move(lease));
    }
  }
  for (WorkOutcome& outcome : effects.outcomes) {
    on_outcome_(std::move(outcome));
  }
  if (effects.earlier_deadline.has_value() && on_earlier_deadline_) {
    on_earlier_deadline_(*effects.earlier_deadline);
  }
}

void WorkQueues::Arm(absl::Time deadline, Effects& effects) {
  if (deadline >= armed_) return;
  armed_ = deadline;
  effects.earlier_deadline = deadline;
}

absl::Time WorkQueues::EarliestDeadline() const {
  absl::Time next = absl::InfiniteFuture();
  if (!deadlines_.empty()) next = deadlines_.begin()->first;
  if (!poll_deadlines_.empty()) {
    next = std::min(next, poll_deadlines_.begin()->first);
  }
  return next;
}

absl::StatusOr<WorkQueues::Queue*> WorkQueues::GetOrAddQueue(
    const std::string& name) {
  auto it = queues_.find(name);
  if (it != queues_.end()) return &it->second;
  if (queues_.size() >= kMaxQueues) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "queue: this daemon already serves ", kMaxQueues,
        " work queues with items or workers in them, the most it allows; "
        "use fewer distinct queue names"));
  }
  return &queues_[name];
}

void WorkQueues::DropQueueIfIdle(const std::string& name) {
  auto it = queues_.find(name);
  if (it == queues_.end()) return;
  const Queue& queue = it->second;
  if (queue.ready.empty() && queue.waiting.empty() && queue.leased == 0 &&
      queue.consumers == 0) {
    queues_.erase(it);
  }
}

absl::Status WorkQueues::Enqueue(WorkSpec spec) {
  if (absl::Status s = ValidateWorkSpec(spec); !s.ok()) return s;
  absl::StatusOr<std::string> nonce = NewLeaseNonce();
  if (!nonce.ok()) return nonce.status();
  Effects effects;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = items_.find(spec.task_id); it != items_.end()) {
      return absl::AlreadyExistsError(
          absl::StrCat("task_id: the task already has work item attempt ",
                       it->second.spec.attempt, " on queue ",
                       it->second.spec.queue, "; its outcome comes first"));
    }
    absl::StatusOr<Queue*> queue = GetOrAddQueue(spec.queue);
    if (!queue.ok()) return queue.status();
    if (spec.scheduled_at == absl::InfinitePast()) {
      spec.scheduled_at = clock_.Now();
    }
    const std::string id = spec.task_id;
    const std::string name = spec.queue;
    Item& item = items_[id];
    item.spec = std::move(spec);
    item.next_nonce = *std::move(nonce);
    (*queue)->ready.push_back(id);
    if (observer_ != nullptr) effects.observed.queued.push_back(name);
    Reindex(item, effects);
    Dispatch(name, effects);
  }
  Run(std::move(effects));
  return absl::OkStatus();
}

absl::StatusOr<WorkQueues::ConsumerId> WorkQueues::Poll(PollRequest request,
                                                        PollCallback done) {
  if (absl::Status s = ValidateQueueKey(request.queue); !s.ok()) return s;
  if (absl::Status s = ValidateWorkerIdentity(request.worker_identity);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidatePoll(request.max_items, request.wait); !s.ok()) {
    return s;
  }
  Effects effects;
  ConsumerId id;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<Queue*> queue = GetOrAddQueue(request.queue);
    if (!queue.ok()) return queue.status();
    id = next_consumer_++;
    Consumer& consumer = consumers_[id];
    consumer.queue = request.queue;
    consumer.worker_identity = std::move(request.worker_identity);
    consumer.credit = std::max<uint32_t>(request.max_items, 1);
    consumer.deadline = clock_.Now() + request.wait;
    consumer.poll_done = std::move(done);
    ++(*queue)->consumers;
    Park(id, consumer, **queue);
    Dispatch(request.queue, effects);
    auto it = consumers_.find(id);
    if (it != consumers_.end() && request.wait == absl::ZeroDuration()) {
      // Nothing was queued and the poll does not wait: answer empty now.
      effects.deliveries.push_back(
          {std::move(it->second.poll_done), nullptr, {}});
      RemoveConsumer(id);
    } else if (it != consumers_.end()) {
      poll_deadlines_.insert({it->second.deadline, id});
      Arm(it->second.deadline, effects);
    }
  }
  Run(std::move(effects));
  return id;
}

absl::StatusOr<WorkQueues::ConsumerId> WorkQueues::OpenStream(
    std::string queue_name, std::string worker_identity,
    StreamCallback on_item) {
  if (absl::Status s = ValidateQueueKey(queue_name); !s.ok()) return s;
  if (absl::Status s = ValidateWorkerIdentity(worker_identity); !s.ok()) {
    return s;
  }
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Queue*> queue = GetOrAddQueue(queue_name);
  if (!queue.ok()) return queue.status();
  ConsumerId id = next_consumer_++;
  Consumer& consumer = consumers_[id];
  consumer.queue = std::move(queue_name);
  consumer.worker_identity = std::move(worker_identity);
  consumer.on_item = std::make_shared<StreamCallback>(std::move(on_item));
  ++(*queue)->consumers;
  return id;
}

absl::Status WorkQueues::AddCredit(ConsumerId stream, uint32_t items) {
  if (items == 0 || items > WorkLimits::kMaxPollItems) {
    return absl::InvalidArgumentError(absl::StrCat("credit.items: ", items,
                                                   " is not from 1 to ",
                                                   WorkLimits::kMaxPollItems));
  }
  Effects effects;
  {
    absl::MutexLock lock(&mu_);
    auto it = consumers_.find(stream);
    if (it == consumers_.end() || it->second.on_item == nullptr) {
      return absl::NotFoundError("the work stream is closed");
    }
    Consumer& consumer = it->second;
    // Bounded so that credit cannot overflow however often it is granted.
    consumer.credit = static_cast<uint32_t>(std::min<uint64_t>(
        uint64_t{consumer.credit} + items, WorkLimits::kMaxPollItems));
    Park(stream, consumer, queues_[consumer.queue]);
    Dispatch(consumer.queue, effects);
  }
  Run(std::move(effects));
  return absl::OkStatus();
}

bool WorkQueues::CancelWait(ConsumerId id) {
  absl::MutexLock lock(&mu_);
  if (!consumers_.contains(id)) return false;
  RemoveConsumer(id);
  return true;
}

void WorkQueues::Park(ConsumerId id, Consumer& consumer, Queue& queue) {
  if (consumer.parked || consumer.credit == 0) return;
  consumer.parked = true;
  queue.waiting.push_back(id);
}

void WorkQueues::RemoveConsumer(ConsumerId id) {
  auto it = consumers_.find(id);
  Consumer& consumer = it->second;
  Queue& queue = queues_[consumer.queue];
  if (consumer.parked) {
    queue.waiting.erase(
        std::find(queue.waiting.begin(), queue.waiting.end(), id));
  }
  poll_deadlines_.erase({consumer.deadline, id});
  --queue.consumers;
  const std::string name = std::move(consumer.queue);
  consumers_.erase(it);
  DropQueueIfIdle(name);
}

void WorkQueues::Dispatch(const std::string& name, Effects& effects) {
  Queue& queue = queues_[name];
  const absl::Time now = clock_.Now();
  while (!queue.ready.empty() && !queue.waiting.empty()) {
    const ConsumerId id = queue.waiting.front();
    Consumer& consumer = consumers_[id];
    Effects::Delivery delivery;
    while (consumer.credit > 0 && !queue.ready.empty()) {
      Item& item = items_[queue.ready.front()];
      if (item.indexed_deadline <= now) {
        ExpireItem(item, now, effects);  // past its schedule timeout
        continue;
      }
      queue.ready.pop_front();
      delivery.leases.push_back(LeaseItem(item, consumer, now, effects));
      --consumer.credit;
      ++queue.leased;
    }
    // Every item looked at was past its schedule timeout: none is left.
    if (delivery.leases.empty()) break;
    if (consumer.credit == 0 || consumer.poll_done) {
      queue.waiting.pop_front();
      consumer.parked = false;
    }
    if (consumer.poll_done) {
      delivery.poll_done = std::move(consumer.poll_done);
      RemoveConsumer(id);
    } else {
      delivery.on_item = consumer.on_item;
    }
    effects.deliveries.push_back(std::move(delivery));
  }
}

WorkLease WorkQueues::LeaseItem(Item& item, const Consumer& consumer,
                                absl::Time now, Effects& effects) {
  LeaseRecord& lease = item.lease;
  lease.task_id = item.spec.task_id;
  lease.attempt = item.spec.attempt;
  lease.queue = item.spec.queue;
  lease.worker_identity = consumer.worker_identity;
  lease.nonce = std::move(item.next_nonce);
  item.next_nonce.clear();
  lease.scheduled_at = item.spec.scheduled_at;
  lease.started_at = now;
  lease.heartbeat = item.spec.heartbeat;
  lease.heartbeat_deadline = item.spec.heartbeat > absl::ZeroDuration()
                                 ? now + item.spec.heartbeat
                                 : absl::InfiniteFuture();
  lease.timeout_deadline = item.spec.timeout > absl::ZeroDuration()
                               ? now + item.spec.timeout
                               : absl::InfiniteFuture();
  lease.cancel_requested = false;
  item.leased = true;
  if (observer_ != nullptr) {
    effects.observed.leased.emplace_back(
        lease.queue, std::max(absl::ZeroDuration(), now - lease.scheduled_at));
  }
  Reindex(item, effects);
  WorkToken token{lease.task_id, lease.attempt, lease.nonce};
  return WorkLease{token.Encode(), lease, item.spec.input};
}

size_t WorkQueues::ExpireDue() {
  Effects effects;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_.Now();
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
      ExpireItem(items_[deadlines_.begin()->second], now, effects);
    }
    while (!poll_deadlines_.empty() && poll_deadlines_.begin()->first <= now) {
      const ConsumerId id = poll_deadlines_.begin()->second;
      effects.deliveries.push_back(
          {std::move(consumers_[id].poll_done), nullptr, {}});
      RemoveConsumer(id);
    }
    armed_ = EarliestDeadline();  // the owner re-arms after the sweep
  }
  const size_t ended = effects.outcomes.size();
  Run(std::move(effects));
  return ended;
}

absl::Time WorkQueues::NextDeadline() {
  absl::MutexLock lock(&mu_);
  armed_ = EarliestDeadline();
  return armed_;
}

std::vector<WorkQueueStats> WorkQueues::Stats() {
  absl::MutexLock lock(&mu_);
  const absl::Time now = clock_.Now();
  std::vector<WorkQueueStats> stats;
  stats.reserve(queues_.size());
  for (const auto& [name, queue] : queues_) {
    WorkQueueStats& s = stats.emplace_back();
    s.queue = name;
    s.depth = queue.ready.size();
    if (!queue.ready.empty()) {
      const Item& oldest = items_.find(queue.ready.front())->second;
      s.oldest_age =
          std::max(absl::ZeroDuration(), now - oldest.spec.scheduled_at);
    }
    s.pollers = queue.waiting.size();
    s.leased = queue.leased;
  }
  std::sort(stats.begin(), stats.end(),
            [](const WorkQueueStats& a, const WorkQueueStats& b) {
              return a.queue < b.queue;
            });
  return stats;
}

}  // namespace corosched::server
