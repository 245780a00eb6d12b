#include "server/store/postgres_pool.h"

#include <algorithm>
#include <utility>

namespace corosched::server {

PgPool::PgPool(std::vector<std::unique_ptr<PgConnection>> connections,
               absl::Duration min_backoff, absl::Duration max_backoff)
    : min_backoff_(min_backoff),
      max_backoff_(max_backoff),
      idle_(std::move(connections)),
      backoff_(min_backoff) {}

absl::Status PgPool::Revive(PgConnection& connection) {
  {
    absl::MutexLock lock(&mu_);
    if (absl::Now() < next_attempt_) {
      return absl::UnavailableError(
          "the PostgreSQL database cannot be reached; reconnecting");
    }
  }
  absl::Status reset = connection.Reset();
  absl::MutexLock lock(&mu_);
  if (reset.ok()) {
    backoff_ = min_backoff_;
    next_attempt_ = absl::InfinitePast();
  } else {
    next_attempt_ = absl::Now() + backoff_;
    backoff_ = std::min(backoff_ * 2, max_backoff_);
  }
  return reset;
}

absl::Status PgPool::Run(absl::FunctionRef<absl::Status(PgConnection&)> use) {
  std::unique_ptr<PgConnection> connection;
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &PgPool::HasIdle));
    connection = std::move(idle_.back());
    idle_.pop_back();
  }
  absl::Status status = absl::OkStatus();
  if (connection->broken()) status = Revive(*connection);
  if (status.ok()) {
    status = use(*connection);
    if (!status.ok() && connection->broken()) {
      // Lost while in use: once the server answers again, reconnect at once.
      absl::MutexLock lock(&mu_);
      next_attempt_ = absl::InfinitePast();
    }
  }
  absl::MutexLock lock(&mu_);
  idle_.push_back(std::move(connection));
  return status;
}

}  // namespace corosched::server
