#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/time/clock.h"
#include "core/time/token_bucket.h"
#include "server/daemon/config.h"

namespace corosched::server {

class NamespaceAdmission;

// Why NamespaceAdmission::Admit refused a submit.
enum class NamespaceRefusal : uint8_t { kNone, kRate, kBound };

// What NamespaceAdmission keeps per namespace.
struct NamespaceUsage {
  std::string namespace_name;
  uint64_t unfinished = 0;
  // Submits (with a submit rate only).
  TokenBucket bucket;
};

// One unfinished task counted against its namespace's bound, given back
// when the slot is destroyed (the task's future ended, or the submit made
// no task). Move-only; a default-constructed slot counts nothing.
class NamespaceSlot {
 public:
  NamespaceSlot() = default;
  NamespaceSlot(NamespaceSlot&& other) noexcept
      : owner_(other.owner_), usage_(other.usage_) {
    other.owner_ = nullptr;
  }
  NamespaceSlot& operator=(NamespaceSlot&& other) noexcept;
  NamespaceSlot(const NamespaceSlot&) = delete;
  NamespaceSlot& operator=(const NamespaceSlot&) = delete;
  ~NamespaceSlot() { Release(); }

  bool counted() const { return owner_ != nullptr; }

 private:
  friend class NamespaceAdmission;
  using Usage = NamespaceUsage;
  NamespaceSlot(NamespaceAdmission* owner, Usage* usage)
      : owner_(owner), usage_(usage) {}
  void Release();

  // Two pointers: every unfinished task's future carries one.
  NamespaceAdmission* owner_ = nullptr;
  Usage* usage_ = nullptr;
};

// Per-namespace admission (--namespace-max-tasks, --namespace-submit-rate,
// --namespace-submit-burst): a namespace's unfinished tasks stay within its
// bound and its submits within its rate, so one namespace cannot take the
// whole daemon (--max-tasks stays the daemon-wide bound on top).
//
// Use: a submit calls Admit(ns) and, if granted, hands the slot to the task
// it starts, which holds it until it ends; recovery counts each resumed
// task with Restore(ns), checking nothing (it was admitted before).
//
// The rate is a token bucket per namespace on the injected clock: it holds
// up to `burst` submits (0: one second's worth, at least one), refills at
// `rate` per second, and each submit takes one. A refused submit takes
// nothing and does not count.
//
// Thread-safety: every method from any thread. A slot must not outlive
// the NamespaceAdmission that gave it; `clock` must outlive every Admit.
class NamespaceAdmission {
 public:
  NamespaceAdmission(const Clock& clock, const NamespaceLimits& limits);
  NamespaceAdmission(const NamespaceAdmission&) = delete;
  NamespaceAdmission& operator=(const NamespaceAdmission&) = delete;

  // One submit in `ns`: RESOURCE_EXHAUSTED naming the namespace and the
  // flag when it is past its rate (retry later) or at its bound of
  // unfinished tasks (retry once some finish).
  // `refusal`, if not null, is set to why (kNone when admitted).
  absl::StatusOr<NamespaceSlot> Admit(absl::string_view ns,
                                      NamespaceRefusal* refusal = nullptr)
      ABSL_LOCKS_EXCLUDED(mu_);
  // A task recovered after a restart: counted, never refused.
  NamespaceSlot Restore(absl::string_view ns) ABSL_LOCKS_EXCLUDED(mu_);

  // `ns`'s unfinished tasks (the slots it holds).
  uint64_t Unfinished(absl::string_view ns) const ABSL_LOCKS_EXCLUDED(mu_);
  // Every namespace holding a slot, with its count, in no order.
  std::vector<std::pair<std::string, uint64_t>> AllUnfinished() const
      ABSL_LOCKS_EXCLUDED(mu_);
  // The bound per namespace; 0 when there is none.
  uint64_t max_tasks() const { return max_tasks_; }

 private:
  friend class NamespaceSlot;
  using Usage = NamespaceSlot::Usage;
  // Namespaces past this many entries get their idle ones swept.
  static constexpr size_t kSweepAbove = 4096;

  void Release(Usage* usage) ABSL_LOCKS_EXCLUDED(mu_);
  // `ns`'s entry, made if absent.
  Usage& UsageOf(absl::string_view ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Drops entries with no slot and a full bucket (nothing to remember).
  void SweepIdle(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock& clock_;
  const uint64_t max_tasks_;
  const double rate_;
  const double burst_;
  mutable absl::Mutex mu_;
  // Nodes: slots point at their namespace's entry, which stays while any
  // slot does (it is erased only with no task counted).
  absl::node_hash_map<std::string, Usage> usage_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server
