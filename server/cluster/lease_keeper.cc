#include "server/cluster/lease_keeper.h"

#include <algorithm>
#include <utility>

#include "server/daemon/logging.h"
#include "spdlog/spdlog.h"

namespace corosched::server {
namespace {

// The longest a thread waits without looking again: bounds what a missed
// wake-up could cost.
constexpr absl::Duration kMaxWait = absl::Seconds(1);

absl::Duration OrDefault(absl::Duration set, absl::Duration otherwise) {
  return set > absl::ZeroDuration() ? set : otherwise;
}

}  // namespace

LeaseKeeper::LeaseKeeper(ClusterStore& store, Clock& clock,
                         InboxDispatcher& inbox, ClusterTaskHooks hooks,
                         LeaseKeeperOptions options, ClusterMetrics* metrics)
    : store_(store),
      clock_(clock),
      inbox_(inbox),
      hooks_(std::move(hooks)),
      lease_(options.lease),
      margin_(OrDefault(options.margin, options.lease / 6)),
      claim_interval_(OrDefault(options.claim_interval, options.lease / 5)),
      sweep_interval_(options.inbox_sweep_interval),
      claim_batch_(std::max(1, options.claim_batch)),
      retry_interval_(
          OrDefault(options.retry_interval,
                    std::min(absl::Seconds(1), options.lease / 10))),
      metrics_(metrics) {
  ClusterCallbacks callbacks;
  callbacks.on_lease_lost = [this](const std::string& id) {
    hooks_.abandon(id);
  };
  callbacks.on_inbox = [this](const std::string& id) { OnInbox(id); };
  callbacks.on_handover = [this](const std::string&) { ClaimSoon(); };
  store_.SetClusterCallbacks(std::move(callbacks));
  clock_.AddListener(this);
}

LeaseKeeper::~LeaseKeeper() {
  Stop();
  clock_.RemoveListener(this);
}

absl::Status LeaseKeeper::Start() {
  RenewIfDue();  // the join
  {
    absl::MutexLock lock(&mu_);
    if (!joined_) return last_failure_;
  }
  {
    absl::MutexLock lock(&mu_);
    // The first claim is this thread's, below.
    next_claim_ = clock_.Now() + claim_interval_;
    next_sweep_ = clock_.Now() + sweep_interval_;
  }
  // Renewals and the deadline's watch run before the first claim: resuming
  // a large backlog may take longer than the lease.
  threads_.emplace_back([this] {
    Loop([this] { RenewIfDue(); },
         [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return next_renew_; });
  });
  threads_.emplace_back([this] {
    Loop([this] { FenceIfExpired(); },
         [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
           return joined_ ? deadline_ : absl::InfiniteFuture();
         });
  });
  threads_.emplace_back([this] {
    Loop([this] { ClaimThreadStep(); },
         [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
           if (!notified_.empty()) return absl::InfinitePast();
           return std::min(claiming_ ? next_claim_ : absl::InfiniteFuture(),
                           next_sweep_);
         });
  });
  ClaimNow();
  return absl::OkStatus();
}

void LeaseKeeper::StopClaiming() {
  absl::MutexLock lock(&mu_);
  claiming_ = false;
}

void LeaseKeeper::Stop() {
  bool first;
  {
    absl::MutexLock lock(&mu_);
    first = !stopping_;
    stopping_ = true;
    claiming_ = false;
  }
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
  // The store may outlive the keeper: its callbacks must not reach it. Only
  // the first time, while the store surely exists (the Daemon closes it
  // before the keeper is destroyed).
  if (first) store_.SetClusterCallbacks({});
}

absl::Status LeaseKeeper::Leave() {
  Stop();
  {
    absl::MutexLock lock(&mu_);
    // Never joined, or lost a lease that holds no task any more.
    if (!joined_ && !leave_first_) return absl::OkStatus();
  }
  absl::Status left = store_.Leave();
  absl::MutexLock lock(&mu_);
  joined_ = false;
  deadline_ = absl::InfinitePast();
  return left;
}

absl::Time LeaseKeeper::deadline() {
  absl::MutexLock lock(&mu_);
  return deadline_;
}

void LeaseKeeper::RenewIfDue() {
  bool joined;
  bool leave_first;
  uint64_t generation;
  const absl::Time sent = clock_.Now();
  {
    absl::MutexLock lock(&mu_);
    if (sent < next_renew_) return;
    joined = joined_;
    leave_first = leave_first_;
    generation = generation_;
  }
  absl::Status answer;
  if (!joined && leave_first) {
    answer = store_.Leave();
    if (answer.ok()) {
      absl::MutexLock lock(&mu_);
      leave_first_ = false;
    }
  }
  if (answer.ok()) {
    answer = joined ? store_.RenewDaemonLease(lease_) : store_.Join(lease_);
  }
  absl::MutexLock lock(&mu_);
  // Lost meanwhile (the fence): this answer is for a lease given up, and
  // the join that follows is due already.
  if (generation != generation_) return;
  if (answer.ok()) {
    next_renew_ = sent + lease_ / 3;
    if (joined) {
      deadline_ = std::max(deadline_, sent + lease_ - margin_);
    } else {
      Joined(sent);
    }
    if (metrics_ != nullptr) metrics_->SetOwnedTasks(hooks_.live_count());
    return;
  }
  if (joined && IsLeaseLost(answer)) {
    LoseLease("its lease had expired when it renewed it", false);
    return;
  }
  if (metrics_ != nullptr && joined) metrics_->OnRenewalFailed();
  spdlog::warn("event=cluster_{}_failed retry_in={} {}",
               joined ? "renewal" : "join",
               absl::FormatDuration(retry_interval_), LogStatus(answer));
  last_failure_ = answer;
  next_renew_ = clock_.Now() + retry_interval_;
}

void LeaseKeeper::Joined(absl::Time sent) {
  joined_ = true;
  ++generation_;
  deadline_ = sent + lease_ - margin_;
  next_claim_ = clock_.Now();  // claim at once
  ++pokes_;
  spdlog::info("event=cluster_joined daemon={} lease={}",
               LogValue(store_.daemon_id()), absl::FormatDuration(lease_));
}

bool LeaseKeeper::FenceIfExpired() {
  absl::MutexLock lock(&mu_);
  if (!joined_ || clock_.Now() < deadline_) return false;
  // The lease may still hold in the database: leave under the old id
  // before joining again, so the tasks dropped here are claimed at once.
  LoseLease("no renewal succeeded before its deadline", true);
  return true;
}

void LeaseKeeper::LoseLease(absl::string_view why, bool leave_first) {
  const std::string old_id = store_.daemon_id();
  joined_ = false;
  leave_first_ = leave_first;
  ++generation_;
  deadline_ = absl::InfinitePast();
  next_renew_ = absl::InfinitePast();  // join again as soon as it can
  ++pokes_;
  const size_t abandoned = hooks_.abandon_all();
  if (metrics_ != nullptr) {
    metrics_->OnLeaseLost();
    metrics_->SetOwnedTasks(0);
  }
  spdlog::error(
      "event=cluster_lease_lost daemon={} abandoned_tasks={} reason={}",
      LogValue(old_id), abandoned, LogValue(why));
}

void LeaseKeeper::ClaimNow() {
  uint64_t generation;
  {
    absl::MutexLock lock(&mu_);
    if (!joined_ || !claiming_) return;
    generation = generation_;
  }
  uint64_t claimed_total = 0;
  while (true) {
    const size_t room = hooks_.free_capacity();
    if (room == 0) break;
    const int want =
        static_cast<int>(std::min<size_t>(room, size_t(claim_batch_)));
    absl::StatusOr<std::vector<ClaimedTask>> claimed = store_.ClaimTasks(want);
    if (!claimed.ok()) {
      spdlog::warn("event=cluster_claim_failed {}",
                   LogStatus(claimed.status()));
      break;
    }
    if (claimed->empty()) break;
    const bool full = static_cast<int>(claimed->size()) == want;
    std::vector<TaskRecord> records;
    records.reserve(claimed->size());
    for (ClaimedTask& task : *claimed)
      records.push_back(std::move(task.record));
    std::vector<std::string> not_started;
    {
      absl::MutexLock lock(&mu_);
      // Lost meanwhile: nothing claimed under that lease may run (they
      // are given back by the leave, or free once it expired).
      if (generation != generation_ || !joined_ || clock_.Now() >= deadline_) {
        return;
      }
      const size_t count = records.size();
      not_started = hooks_.resume(std::move(records));
      claimed_total += count - not_started.size();
    }
    if (!not_started.empty()) {
      if (absl::Status released = store_.ReleaseTasks(not_started);
          !released.ok()) {
        spdlog::warn("event=cluster_release_failed tasks={} {}",
                     not_started.size(), LogStatus(released));
      }
      break;  // no room for more
    }
    if (!full) break;
  }
  if (metrics_ != nullptr) {
    metrics_->OnClaimed(claimed_total);
    metrics_->SetOwnedTasks(hooks_.live_count());
  }
  if (claimed_total == 0) return;
  spdlog::info("event=cluster_claimed tasks={}", claimed_total);
  // A claimed task's inbox may hold what was sent while nobody ran it.
  if (absl::Status delivered = inbox_.DeliverAll(); !delivered.ok()) {
    spdlog::warn("event=cluster_inbox_failed {}", LogStatus(delivered));
  }
}

void LeaseKeeper::DeliverInboxes() {
  absl::flat_hash_set<std::string> notified;
  bool sweep;
  {
    absl::MutexLock lock(&mu_);
    notified.swap(notified_);
    const absl::Time now = clock_.Now();
    sweep = now >= next_sweep_ || notified.contains("");
    if (sweep) next_sweep_ = now + sweep_interval_;
  }
  absl::Status delivered;
  if (sweep) {
    delivered = inbox_.DeliverAll();
  } else {
    for (const std::string& id : notified) {
      absl::Status one = inbox_.Deliver(id);
      if (delivered.ok()) delivered = one;
    }
  }
  if (!delivered.ok()) {
    // The next sweep reads them again.
    spdlog::warn("event=cluster_inbox_failed {}", LogStatus(delivered));
  }
}

void LeaseKeeper::ClaimThreadStep() {
  bool claim;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = clock_.Now();
    claim = claiming_ && now >= next_claim_;
    if (claim) next_claim_ = now + claim_interval_;
  }
  if (claim) ClaimNow();
  DeliverInboxes();
}

void LeaseKeeper::OnInbox(const std::string& task_id) {
  absl::MutexLock lock(&mu_);
  notified_.insert(task_id);  // "": every owned task's
  ++pokes_;
}

void LeaseKeeper::ClaimSoon() {
  absl::MutexLock lock(&mu_);
  next_claim_ = absl::InfinitePast();
  ++pokes_;
}

void LeaseKeeper::OnClockAdvanced() {
  absl::MutexLock lock(&mu_);
  ++pokes_;
}

void LeaseKeeper::Loop(absl::FunctionRef<void()> step,
                       absl::FunctionRef<absl::Time()> due) {
  while (true) {
    uint64_t pokes;
    {
      absl::MutexLock lock(&mu_);
      pokes = pokes_;  // before the step: a poke during it is not missed
    }
    step();
    absl::MutexLock lock(&mu_);
    auto woken = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return stopping_ || pokes_ != pokes || clock_.Now() >= due();
    };
    if (!woken()) {
      const absl::Duration wait =
          std::min(kMaxWait, clock_.RealTimeUntil(due()));
      mu_.AwaitWithTimeout(absl::Condition(&woken), wait);
    }
    if (stopping_) return;
  }
}

}  // namespace corosched::server
