#include "server/tasks/namespace_admission.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/quote.h"

namespace corosched::server {

NamespaceSlot& NamespaceSlot::operator=(NamespaceSlot&& other) noexcept {
  if (this != &other) {
    Release();
    owner_ = other.owner_;
    usage_ = other.usage_;
    other.owner_ = nullptr;
  }
  return *this;
}

void NamespaceSlot::Release() {
  if (owner_ == nullptr) return;
  owner_->Release(usage_);
  owner_ = nullptr;
}

NamespaceAdmission::NamespaceAdmission(const Clock& clock,
                                       const NamespaceLimits& limits)
    : clock_(clock),
      max_tasks_(limits.max_tasks),
      rate_(limits.submit_rate),
      burst_(limits.submit_burst > 0
                 ? static_cast<double>(limits.submit_burst)
                 : std::max(1.0, static_cast<double>(limits.submit_rate))) {}

absl::StatusOr<NamespaceSlot> NamespaceAdmission::Admit(
    absl::string_view ns, NamespaceRefusal* refusal) {
  NamespaceRefusal ignored;
  if (refusal == nullptr) refusal = &ignored;
  *refusal = NamespaceRefusal::kNone;
  const absl::Time now = clock_.Now();
  absl::MutexLock lock(&mu_);
  if (usage_.size() > kSweepAbove) SweepIdle(now);
  Usage& usage = UsageOf(ns);
  if (rate_ > 0) {
    usage.bucket.Refill(now, rate_, burst_);
    if (!usage.bucket.HasToken()) {
      *refusal = NamespaceRefusal::kRate;
      return absl::ResourceExhaustedError(absl::StrCat(
          "namespace ", QuoteInput(ns), " is past its submit rate of ", rate_,
          "/s (--namespace-submit-rate, bursts of ", burst_,
          "); retry later, with back-off"));
    }
  }
  if (max_tasks_ > 0 && usage.unfinished >= max_tasks_) {
    *refusal = NamespaceRefusal::kBound;
    return absl::ResourceExhaustedError(absl::StrCat(
        "namespace ", QuoteInput(ns), " is at its bound of ", max_tasks_,
        " unfinished tasks (--namespace-max-tasks); retry after some "
        "finish"));
  }
  if (rate_ > 0) usage.bucket.Take();
  ++usage.unfinished;
  return NamespaceSlot(this, &usage);
}

NamespaceSlot NamespaceAdmission::Restore(absl::string_view ns) {
  absl::MutexLock lock(&mu_);
  Usage& usage = UsageOf(ns);
  ++usage.unfinished;
  return NamespaceSlot(this, &usage);
}

NamespaceAdmission::Usage& NamespaceAdmission::UsageOf(absl::string_view ns) {
  auto [it, added] = usage_.try_emplace(ns);
  if (added) it->second.namespace_name = std::string(ns);
  return it->second;
}

void NamespaceAdmission::Release(Usage* usage) {
  absl::MutexLock lock(&mu_);
  if (usage->unfinished == 0) return;  // never: each slot counted once
  --usage->unfinished;
  // Without a rate there is nothing to remember of an idle namespace.
  if (usage->unfinished == 0 && rate_ == 0) {
    usage_.erase(usage_.find(usage->namespace_name));
  }
}

void NamespaceAdmission::SweepIdle(absl::Time now) {
  absl::erase_if(usage_, [&](auto& entry) {
    Usage& usage = entry.second;
    if (usage.unfinished > 0) return false;
    usage.bucket.Refill(now, rate_, burst_);
    return usage.bucket.Full(burst_);
  });
}

uint64_t NamespaceAdmission::Unfinished(absl::string_view ns) const {
  absl::MutexLock lock(&mu_);
  auto it = usage_.find(ns);
  return it == usage_.end() ? 0 : it->second.unfinished;
}

std::vector<std::pair<std::string, uint64_t>>
NamespaceAdmission::AllUnfinished() const {
  absl::MutexLock lock(&mu_);
  std::vector<std::pair<std::string, uint64_t>> all;
  for (const auto& [ns, usage] : usage_) {
    if (usage.unfinished > 0) all.emplace_back(ns, usage.unfinished);
  }
  return all;
}

}  // namespace corosched::server
