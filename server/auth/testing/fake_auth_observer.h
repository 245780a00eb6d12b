#pragma once

// Test-only: an AuthObserver that counts what it is told.

#include <map>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "server/auth/auth_observer.h"

namespace corosched::server::testing {

class FakeAuthObserver final : public AuthObserver {
 public:
  void OnDenied(absl::StatusCode code, Role role) override {
    absl::MutexLock lock(&mu_);
    ++denials_[{code, role}];
  }
  void OnCredentialsReloaded(bool ok) override {
    absl::MutexLock lock(&mu_);
    ++(ok ? reloads_ : failed_reloads_);
  }

  int denials(absl::StatusCode code, Role role) const {
    absl::MutexLock lock(&mu_);
    auto found = denials_.find({code, role});
    return found == denials_.end() ? 0 : found->second;
  }
  int reloads() const {
    absl::MutexLock lock(&mu_);
    return reloads_;
  }
  int failed_reloads() const {
    absl::MutexLock lock(&mu_);
    return failed_reloads_;
  }

 private:
  mutable absl::Mutex mu_;
  std::map<std::pair<absl::StatusCode, Role>, int> denials_
      ABSL_GUARDED_BY(mu_);
  int reloads_ ABSL_GUARDED_BY(mu_) = 0;
  int failed_reloads_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace corosched::server::testing
