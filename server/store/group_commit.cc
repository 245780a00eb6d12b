#include "server/store/group_commit.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace corosched::server {

GroupCommitWriter::GroupCommitWriter(
    std::unique_ptr<SqliteConnection> connection, GroupCommitOptions options)
    : options_(std::move(options)), connection_(std::move(connection)) {
  // Replaces SQLite's auto-checkpoint, whose errors nobody would see: the
  // writer checkpoints itself (step 5 in the header).
  sqlite3_wal_hook(connection_->db(), &GroupCommitWriter::OnWalCommit, this);
  thread_ = std::thread([this] { Run(); });
}

GroupCommitWriter::~GroupCommitWriter() {
  Stop();
  if (!failure().ok()) {
    // After a storage failure, touch the database file no more: no
    // checkpoint on close. The WAL stays and is recovered on the next start.
    sqlite3_db_config(connection_->db(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1,
                      nullptr);
  }
}

void GroupCommitWriter::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    work_.Signal();
  }
  if (thread_.joinable()) thread_.join();
}

void GroupCommitWriter::Submit(Write write) {
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      queue_.push_back(std::move(write));
      work_.Signal();
      return;
    }
  }
  if (write.done) {
    std::move(write.done)(absl::UnavailableError(
        "the store is closing and accepts no more writes"));
  }
}

absl::Status GroupCommitWriter::failure() const {
  absl::MutexLock lock(&mu_);
  return failure_;
}

bool GroupCommitWriter::OnWriterThread() const {
  return std::this_thread::get_id() == thread_.get_id();
}

void GroupCommitWriter::Run() {
  for (;;) {
    int queued = 0;
    std::vector<Write> batch = TakeBatch(&queued);
    if (batch.empty()) return;  // stopping, and everything is answered
    if (absl::Status failed = failure(); !failed.ok()) {
      Fail(failed, batch);
      continue;
    }
    const bool durable = std::any_of(batch.begin(), batch.end(),
                                     [](const Write& w) { return w.durable; });
    const auto start = std::chrono::steady_clock::now();
    std::vector<absl::Status> results;
    absl::Status committed = SetSynchronous(durable);
    if (committed.ok()) committed = CommitBatch(batch, results);
    if (!committed.ok()) {
      Fail(committed, batch);
      continue;
    }
    if (options_.observer != nullptr) {
      options_.observer->OnCommit(
          {.writes = static_cast<int>(batch.size()),
           .queued = queued,
           .duration =
               absl::FromChrono(std::chrono::steady_clock::now() - start),
           .synced = durable});
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (batch[i].done) std::move(batch[i].done)(std::move(results[i]));
    }
    if (absl::Status checkpointed = MaybeCheckpoint(); !checkpointed.ok()) {
      std::vector<Write> answered;  // this batch is on disk and answered
      Fail(checkpointed, answered);
    }
  }
}

std::vector<GroupCommitWriter::Write> GroupCommitWriter::TakeBatch(
    int* queued) {
  absl::MutexLock lock(&mu_);
  while (queue_.empty() && !stopping_) work_.Wait(&mu_);
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
  return batch;
}

absl::Status GroupCommitWriter::CommitBatch(
    std::vector<Write>& batch, std::vector<absl::Status>& results) {
  sqlite3* db = connection_->db();
  if (absl::Status begun = connection_->Run("BEGIN IMMEDIATE"); !begun.ok()) {
    return begun;
  }
  results.reserve(batch.size());
  for (Write& write : batch) {
    results.push_back(ApplyOne(write));
    if (!connection_->storage_failure().ok() || !broken_.ok()) break;
  }
  absl::Status failed = connection_->storage_failure();
  if (failed.ok()) failed = broken_;
  if (failed.ok() && sqlite3_get_autocommit(db) != 0) {
    failed = absl::UnavailableError(
        absl::StrCat(connection_->file_name(),
                     ": SQLite rolled the transaction back by itself"));
  }
  if (failed.ok() && options_.before_commit) {
    failed = options_.before_commit(*connection_);
    if (failed.ok()) failed = connection_->storage_failure();
  }
  if (failed.ok()) failed = connection_->Run("COMMIT");
  if (failed.ok()) return absl::OkStatus();
  if (sqlite3_get_autocommit(db) == 0) {
    (void)connection_->Exec("ROLLBACK");  // best effort; `failed` says why
  }
  return failed;
}

absl::Status GroupCommitWriter::ApplyOne(Write& write) {
  if (write.refuses_before_writing) {
    sqlite3* db = connection_->db();
    const int64_t changes_before = sqlite3_total_changes64(db);
    absl::Status applied = write.apply(*connection_);
    if (!applied.ok() && connection_->storage_failure().ok() &&
        sqlite3_total_changes64(db) != changes_before) {
      broken_ = absl::InternalError(absl::StrCat(
          connection_->file_name(),
          ": a write failed after changing the database, although it "
          "should refuse before writing (",
          applied.ToString(),
          "); its batch is rolled back and the store stops"));
    }
    return applied;
  }
  if (absl::Status saved = connection_->Run("SAVEPOINT write"); !saved.ok()) {
    return saved;
  }
  absl::Status applied = write.apply(*connection_);
  if (!connection_->storage_failure().ok()) return applied;  // batch is lost
  if (!applied.ok()) {
    // Undo whatever part of this write ran; the batch goes on.
    absl::Status undone = connection_->Run("ROLLBACK TO write");
    if (!undone.ok()) return undone;
  }
  absl::Status released = connection_->Run("RELEASE write");
  return applied.ok() ? released : applied;
}

absl::Status GroupCommitWriter::SetSynchronous(bool full) {
  if (full == synchronous_full_) return absl::OkStatus();
  absl::Status set = connection_->Exec(full ? "PRAGMA synchronous=FULL"
                                            : "PRAGMA synchronous=NORMAL");
  if (set.ok()) synchronous_full_ = full;
  return set;
}

absl::Status GroupCommitWriter::MaybeCheckpoint() {
  if (wal_pages_ < options_.checkpoint_wal_pages) return absl::OkStatus();
  // PASSIVE: copies what no reader still needs and never waits. If readers
  // hold old frames the WAL stays long and the next commit tries again.
  int rc = sqlite3_wal_checkpoint_v2(
      connection_->db(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  wal_pages_ = 0;
  if (rc == SQLITE_OK || rc == SQLITE_BUSY) return absl::OkStatus();
  return connection_->Error(rc, "checkpoint of the WAL into the database");
}

void GroupCommitWriter::Fail(const absl::Status& cause,
                             std::vector<Write>& batch) {
  bool first = false;
  absl::Status reason;
  {
    absl::MutexLock lock(&mu_);
    if (failure_.ok()) {
      first = true;
      failure_ = absl::UnavailableError(absl::StrCat(
          "the store stopped accepting writes after a storage failure (",
          cause.message(),
          "); nothing more is acknowledged until corosched-server is "
          "restarted"));
    }
    reason = failure_;
  }
  if (first) {  // the daemon hears of it before any client does
    if (options_.observer != nullptr) {
      options_.observer->OnStorageFailure(reason);
    }
    if (options_.on_fatal_error) options_.on_fatal_error(reason);
  }
  for (Write& write : batch) {
    if (write.done) std::move(write.done)(reason);
  }
}

int GroupCommitWriter::OnWalCommit(void* self, sqlite3* /*db*/,
                                   const char* /*name*/, int pages) {
  static_cast<GroupCommitWriter*>(self)->wal_pages_ = pages;
  return SQLITE_OK;
}

}  // namespace corosched::server
