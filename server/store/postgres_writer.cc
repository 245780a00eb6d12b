#include "server/store/postgres_writer.h"

#include <algorithm>
#include <iterator>
#include <utility>

#include "absl/strings/str_cat.h"

namespace corosched::server {
namespace {

absl::Status Stopped() {
  return absl::UnavailableError(
      "the store is closing and takes no more writes; retry on another "
      "daemon or after the restart");
}

}  // namespace

PgWriter::PgWriter(std::unique_ptr<PgConnection> connection,
                   PgWriterOptions options)
    : options_(options),
      connection_(std::move(connection)),
      backoff_(options.min_backoff) {
  thread_ = std::thread([this] { Run(); });
}

PgWriter::~PgWriter() { Stop(); }

void PgWriter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

bool PgWriter::OnWriterThread() const {
  return std::this_thread::get_id() == thread_.get_id();
}

void PgWriter::Submit(Write write) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopped_) {
      queue_.push_back(std::move(write));
      return;
    }
  }
  if (write.done) std::move(write.done)(Stopped());
}

std::vector<PgWriter::Write> PgWriter::TakeBatch(int* queued, bool* stopping) {
  absl::MutexLock lock(&mu_);
  // With writes kept for retry, wake for the next reconnect attempt too.
  if (deferred_.empty()) {
    mu_.Await(absl::Condition(this, &PgWriter::HasWork));
  } else {
    mu_.AwaitWithDeadline(absl::Condition(this, &PgWriter::HasWork),
                          next_attempt_);
  }
  const size_t take =
      std::min(queue_.size(),
               static_cast<size_t>(std::max(1, options_.max_batch_writes)));
  std::vector<Write> batch;
  batch.reserve(take);
  for (size_t i = 0; i < take; ++i) {
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  *queued = static_cast<int>(queue_.size());
  *stopping = stopping_;
  if (stopping_ && queue_.empty()) stopped_ = true;  // later Submits refused
  return batch;
}

void PgWriter::MaybeReconnect(bool now) {
  if (!connection_->broken()) return;
  const absl::Time clock = absl::Now();
  if (!now && clock < next_attempt_) return;
  if (connection_->Reset().ok()) {
    backoff_ = options_.min_backoff;
    return;
  }
  next_attempt_ = clock + backoff_;
  backoff_ = std::min(backoff_ * 2, options_.max_backoff);
}

void PgWriter::Run() {
  for (;;) {
    int queued = 0;
    bool stopping = false;
    std::vector<Write> batch = TakeBatch(&queued, &stopping);
    MaybeReconnect(/*now=*/false);
    if (!connection_->broken() && !deferred_.empty()) {
      // The kept writes are older than anything just taken: first.
      batch.insert(batch.begin(), std::make_move_iterator(deferred_.begin()),
                   std::make_move_iterator(deferred_.end()));
      deferred_.clear();
    }
    if (batch.empty()) {
      if (stopping) break;
      continue;
    }
    if (connection_->broken()) {
      Answer(batch,
             absl::UnavailableError(
                 "the PostgreSQL database cannot be reached; reconnecting"),
             stopping);
      if (stopping && queued == 0) break;
      continue;
    }
    const absl::Time begin = absl::Now();
    std::vector<absl::Status> results;
    bool sent = true;
    absl::Status failed = CommitBatch(batch, results, &sent);
    if (!failed.ok() && !sent) {
      MaybeReconnect(/*now=*/true);  // found dead before anything was sent
      if (!connection_->broken()) failed = CommitBatch(batch, results, &sent);
    }
    if (!failed.ok()) {
      if (!connection_->broken()) (void)connection_->Exec("ROLLBACK");
      Answer(batch,
             absl::UnavailableError(absl::StrCat(
                 "the write may not be stored: ", failed.message())),
             stopping);
      continue;
    }
    if (options_.observer != nullptr) {
      const bool synced = std::any_of(batch.begin(), batch.end(),
                                      [](const Write& w) { return w.durable; });
      options_.observer->OnCommit({.writes = static_cast<int>(batch.size()),
                                   .queued = queued,
                                   .duration = absl::Now() - begin,
                                   .synced = synced});
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].done) std::move(batch[i].done)(std::move(results[i]));
    }
  }
  for (Write& write : deferred_) {
    if (write.done) std::move(write.done)(Stopped());
  }
  deferred_.clear();
}

absl::Status PgWriter::CommitBatch(std::vector<Write>& batch,
                                   std::vector<absl::Status>& results,
                                   bool* sent) {
  const bool durable = std::any_of(batch.begin(), batch.end(),
                                   [](const Write& w) { return w.durable; });
  absl::Status begun = connection_->Exec(
      durable ? "BEGIN; SAVEPOINT w"
              : "BEGIN; SET LOCAL synchronous_commit = off; SAVEPOINT w");
  *sent = begun.ok() || !connection_->broken();
  if (!begun.ok()) return begun;
  results.assign(batch.size(), absl::OkStatus());
  for (size_t i = 0; i < batch.size(); ++i) {
    absl::Status applied = batch[i].apply(*connection_);
    if (IsConnectionTrouble(applied) || connection_->broken()) {
      return applied.ok() ? absl::UnavailableError("connection lost") : applied;
    }
    const bool last = i + 1 == batch.size();
    absl::Status step = absl::OkStatus();
    if (!applied.ok()) {
      step = connection_->Exec("ROLLBACK TO SAVEPOINT w");
    } else if (!last) {
      step = connection_->Exec("RELEASE SAVEPOINT w; SAVEPOINT w");
    }
    if (!step.ok()) return step;
    results[i] = std::move(applied);
  }
  return connection_->Commit();
}

void PgWriter::Answer(std::vector<Write>& batch, const absl::Status& status,
                      bool stopping) {
  // Kept only while the database cannot be reached: a write the database
  // refuses for another reason would be retried for ever.
  const bool keep = !stopping && connection_->broken();
  for (Write& write : batch) {
    if (write.retry_until_reachable && keep) {
      deferred_.push_back(std::move(write));
    } else if (write.done) {
      std::move(write.done)(status);
    }
  }
}

}  // namespace corosched::server
