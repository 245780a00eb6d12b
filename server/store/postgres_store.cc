#include "server/store/postgres_store.h"

#include <algorithm>
#include <utility>

#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "server/store/postgres_queries.h"
#include "server/store/postgres_schema.h"

namespace corosched::server {
namespace {

// Says so when the server is set to acknowledge commits it may lose.
void WarnOfUnsafeSettings(
    PgConnection& connection,
    absl::AnyInvocable<void(const std::string&)>& on_warning) {
  if (!on_warning) return;
  absl::StatusOr<PgResult> settings = connection.Query(
      "SELECT current_setting('fsync'), current_setting('synchronous_commit')",
      PgParams());
  if (!settings.ok() || settings->rows() != 1) return;
  if (settings->Bytes(0, 0) != "on" || settings->Bytes(0, 1) == "off") {
    on_warning(absl::StrCat(
        "the PostgreSQL server runs with fsync=", settings->Bytes(0, 0),
        " and synchronous_commit=", settings->Bytes(0, 1),
        ": a crash of the server may lose acknowledged submits and wakes"));
  }
}

}  // namespace

PostgresStore::PostgresStore(const PostgresStoreOptions& options)
    : url_(options.url),
      max_events_per_task_(options.max_events_per_task),
      purge_chunk_tasks_(options.purge_chunk_tasks) {}

absl::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    PostgresStoreOptions options) {
  std::vector<std::unique_ptr<PgConnection>> writers;
  for (int i = 0; i < std::max(1, options.writers); ++i) {
    absl::StatusOr<std::unique_ptr<PgConnection>> writer =
        PgConnection::Connect(options.url, options.connect_timeout);
    if (!writer.ok()) return writer.status();
    writers.push_back(*std::move(writer));
  }
  if (absl::Status migrated = MigratePostgresSchema(*writers.front());
      !migrated.ok()) {
    return migrated;
  }
  WarnOfUnsafeSettings(*writers.front(), options.on_warning);
  std::vector<std::unique_ptr<PgConnection>> readers;
  for (int i = 0; i < std::max(1, options.connections); ++i) {
    absl::StatusOr<std::unique_ptr<PgConnection>> reader =
        PgConnection::Connect(options.url, options.connect_timeout);
    if (!reader.ok()) return reader.status();
    readers.push_back(*std::move(reader));
  }
  std::unique_ptr<PostgresStore> store(new PostgresStore(options));
  store->pool_ = std::make_unique<PgPool>(
      std::move(readers), options.min_backoff, options.max_backoff);
  for (std::unique_ptr<PgConnection>& writer : writers) {
    store->writers_.push_back(std::make_unique<PgWriter>(
        std::move(writer),
        PgWriterOptions{.max_batch_writes = options.max_batch_writes,
                        .observer = options.observer,
                        .min_backoff = options.min_backoff,
                        .max_backoff = options.max_backoff}));
  }
  store->read_threads_ =
      std::make_unique<ReadThreads>(std::max(1, options.read_threads));
  store->listener_ = std::make_unique<PgListener>(
      options.url, options.connect_timeout,
      [self = store.get()](const std::string& task_id) {
        self->Notify(/*lease_lost=*/false, task_id);
      });
  return store;
}

PostgresStore::~PostgresStore() {
  listener_.reset();  // no more notifications
  // Callbacks of the last writes may still read, and queued reads still
  // run; then the connections close.
  for (std::unique_ptr<PgWriter>& writer : writers_) writer->Stop();
  read_threads_.reset();
  writers_.clear();
  pool_.reset();
}

// --- Plumbing ----------------------------------------------------------------

PgWriter& PostgresStore::WriterFor(absl::string_view key) const {
  return *writers_[absl::HashOf(key) % writers_.size()];
}

bool PostgresStore::OnWriterThread() const {
  for (const std::unique_ptr<PgWriter>& writer : writers_) {
    if (writer->OnWriterThread()) return true;
  }
  return false;
}

absl::Status PostgresStore::InTransaction(
    absl::FunctionRef<absl::Status(PgConnection&)> body) {
  return pool_->Run([&](PgConnection& c) {
    absl::Status status = c.Exec("BEGIN");
    if (status.ok()) status = body(c);
    if (status.ok()) status = c.Commit();
    if (!status.ok() && !c.broken()) (void)c.Exec("ROLLBACK");
    return status;
  });
}

PgFence PostgresStore::FenceOf(absl::string_view id) const {
  absl::MutexLock lock(&mu_);
  auto it = owned_.find(id);
  return {daemon_id_, it == owned_.end() ? 0 : it->second};
}

bool PostgresStore::Holds(absl::string_view id, const PgFence& fence) const {
  const PgFence now = FenceOf(id);
  return now.epoch == fence.epoch && now.owner == fence.owner;
}

bool PostgresStore::Forget(absl::string_view id, uint64_t epoch) {
  absl::MutexLock lock(&mu_);
  auto it = owned_.find(id);
  if (it == owned_.end() || it->second != epoch) return false;
  owned_.erase(it);
  return true;
}

void PostgresStore::ReleaseWhenReachable(const std::string& id,
                                         const PgFence& fence) {
  WriterFor(id).Submit(
      {.apply =
           [id, fence](PgConnection& c) { return PgReleaseTask(c, id, fence); },
       .retry_until_reachable = true});
}

void PostgresStore::AfterFencedWrite(const std::string& id,
                                     const PgFence& fence,
                                     const absl::Status& status) {
  const bool lost = IsLeaseLost(status);
  const bool behind = absl::IsUnavailable(status) && fence.epoch != 0;
  if (!lost && !behind) return;
  const bool forgot = Forget(id, fence.epoch);
  // The database has the task as of its last stored write: give it up
  // there once the database answers, so that a daemon resumes it.
  if (behind && forgot) ReleaseWhenReachable(id, fence);
  if (forgot || lost) Notify(/*lease_lost=*/true, id);
}

// --- Writes ------------------------------------------------------------------

void PostgresStore::PutDefinitionAsync(v1::TaskDefinition definition,
                                       absl::Time now,
                                       Done<PutDefinitionResult> done) {
  // Definitions are few: all on the first writer.
  Submit<PutDefinitionResult>(
      "",
      [definition = std::move(definition), now](PgConnection& c) {
        return PgWriteDefinition(c, definition, now);
      },
      std::move(done), /*durable=*/true);
}

void PostgresStore::CreateTaskAsync(TaskRecord record,
                                    std::vector<v1::TaskEvent> first_events,
                                    Done<CreateTaskResult> done) {
  // A client-chosen id may name a task that exists, or that another create
  // of the same id is making: nothing joins such a create.
  const bool joinable = record.request_fingerprint.empty();
  if (!joinable) joiner_.EndJoining(record.id);
  CreateOwned(std::move(record), std::move(first_events), std::move(done),
              joinable);
}

void PostgresStore::CreateOwned(TaskRecord record,
                                std::vector<v1::TaskEvent> first_events,
                                Done<CreateTaskResult> done, bool joinable) {
  std::string owner;
  bool owned_now = false;
  {
    absl::MutexLock lock(&mu_);
    owner = daemon_id_;
    if (!owner.empty()) owned_now = owned_.try_emplace(record.id, 1).second;
  }
  if (owner.empty()) {
    if (done) {
      std::move(done)(absl::FailedPreconditionError(
          "the PostgreSQL store creates tasks only once the daemon joined "
          "(Join)"));
    }
    return;
  }
  // With a daemon-chosen id, progress queued from now on joins this write
  // until the writer takes it.
  std::shared_ptr<ProgressJoiner::Queued> joinable_write =
      joinable ? joiner_.AddCreate(record.id) : nullptr;
  auto joined_last = std::make_shared<absl::StatusOr<uint64_t>>(
      absl::InternalError("the create was not written"));
  const std::string id = record.id;
  Submit<CreateTaskResult>(
      id,
      [record = std::move(record), events = std::move(first_events), owner,
       joinable_write, joined_last](PgConnection& c) mutable {
        std::optional<TaskProgress> joined;
        if (joinable_write != nullptr) joined = joinable_write->Take();
        return PgWriteNewTask(c, std::move(record), std::move(events), owner,
                              std::move(joined), joined_last.get());
      },
      [this, id, owner, owned_now, joinable_write, joined_last,
       done =
           std::move(done)](absl::StatusOr<CreateTaskResult> created) mutable {
        // Not ours after all (an existing task), or not known to be stored
        // (then given up once the database answers, should it be).
        if (owned_now && (!created.ok() || !created->created) &&
            Forget(id, 1) && absl::IsUnavailable(created.status())) {
          ReleaseWhenReachable(id, {owner, 1});
        }
        std::vector<ProgressJoiner::Done> dones;
        if (joinable_write != nullptr) {
          dones = joiner_.Finish(id, *joinable_write);
        }
        const absl::StatusOr<uint64_t> last =
            created.ok() ? *joined_last : created.status();
        if (done) std::move(done)(std::move(created));
        for (ProgressJoiner::Done& joined_done : dones) joined_done(last);
      },
      /*durable=*/true);
}

void PostgresStore::RecordProgressAsync(std::string id, TaskProgress progress,
                                        Done<uint64_t> done) {
  const bool durable = progress.durable;
  const PgFence fence = FenceOf(id);
  std::shared_ptr<ProgressJoiner::Queued> queued =
      joiner_.AddProgress(id, std::move(progress), std::move(done));
  if (queued == nullptr) return;  // joined a write still queued
  Submit<uint64_t>(
      id,
      [this, id, queued, fence](PgConnection& c) {
        // Forgotten meanwhile (a lease lost): refused, whatever the row says.
        const PgFence now = Holds(id, fence) ? fence : PgFence{fence.owner, 0};
        return PgWriteProgress(c, id, *queued->Take(), now,
                               max_events_per_task_);
      },
      [this, id, queued, fence](const absl::StatusOr<uint64_t>& written) {
        AfterFencedWrite(id, fence, written.status());
        joiner_.Answer(id, *queued, written);
      },
      durable);
}

void PostgresStore::RecordWakeSignalAsync(std::string id,
                                          std::string request_id,
                                          WakeRecord wake,
                                          v1::PendingSignal signal,
                                          StatusDone done) {
  joiner_.EndJoining(id);  // later progress is the wake's successor
  const PgFence fence = FenceOf(id);
  Submit<bool>(
      id,
      [this, id, request_id = std::move(request_id), wake,
       signal = std::move(signal),
       fence](PgConnection& c) -> absl::StatusOr<bool> {
        const PgFence now = Holds(id, fence) ? fence : PgFence{fence.owner, 0};
        absl::Status written =
            PgWriteWakeSignal(c, id, request_id, wake, signal, now);
        if (!written.ok()) return written;
        return true;
      },
      [this, id, fence,
       done = std::move(done)](const absl::StatusOr<bool>& written) mutable {
        AfterFencedWrite(id, fence, written.status());
        if (done) std::move(done)(written.status());
      },
      /*durable=*/true);
}

void PostgresStore::PurgeFinishedBeforeAsync(absl::Time cutoff, int max_rows,
                                             Done<int> done) {
  PurgeInChunks(
      purge_chunk_tasks_, max_rows,
      [this, cutoff](int chunk, Done<int> deleted) {
        Submit<int>(
            "",
            [cutoff, chunk](PgConnection& c) {
              return PgDeleteFinishedBefore(c, cutoff, chunk);
            },
            std::move(deleted), /*durable=*/false);
      },
      std::move(done));
}

// --- Reads -------------------------------------------------------------------

absl::StatusOr<DefinitionRecord> PostgresStore::GetDefinition(
    absl::string_view name, absl::string_view version) {
  return Read<DefinitionRecord>(
      [&](PgConnection& c) { return PgQueryDefinition(c, name, version); });
}

absl::StatusOr<DefinitionPage> PostgresStore::ListDefinitions(
    const DefinitionQuery& query) {
  return Read<DefinitionPage>(
      [&](PgConnection& c) { return PgQueryDefinitions(c, query); });
}

absl::StatusOr<TaskRecord> PostgresStore::GetTask(absl::string_view id) {
  return Read<TaskRecord>([&](PgConnection& c) -> absl::StatusOr<TaskRecord> {
    absl::StatusOr<std::optional<TaskRecord>> found = PgFindTask(c, id);
    if (!found.ok()) return found.status();
    if (!found->has_value()) return PgTaskNotFound(id);
    return **std::move(found);
  });
}

void PostgresStore::GetTaskAsync(std::string id, Done<TaskRecord> done) {
  read_threads_->Run(
      [this, id = std::move(id), done = std::move(done)]() mutable {
        std::move(done)(GetTask(id));
      });
}

absl::StatusOr<TaskPage> PostgresStore::ListTasks(const TaskQuery& query) {
  return Read<TaskPage>(
      [&](PgConnection& c) { return PgQueryTasks(c, query); });
}

absl::StatusOr<EventBatch> PostgresStore::ReadEvents(absl::string_view id,
                                                     uint64_t after_sequence,
                                                     int max_events) {
  return Read<EventBatch>([&](PgConnection& c) {
    return PgQueryEvents(c, id, after_sequence, max_events);
  });
}

absl::StatusOr<std::map<v1::TaskStatus, uint64_t>>
PostgresStore::CountTasksByStatus() {
  return Read<std::map<v1::TaskStatus, uint64_t>>(
      [&](PgConnection& c) { return PgQueryStatusCounts(c, ""); });
}

absl::StatusOr<std::map<v1::TaskStatus, uint64_t>>
PostgresStore::CountTasksByStatusIn(absl::string_view namespace_name) {
  return Read<std::map<v1::TaskStatus, uint64_t>>(
      [&](PgConnection& c) { return PgQueryStatusCounts(c, namespace_name); });
}

void PostgresStore::FindWakeAsync(std::string id, std::string request_id,
                                  Done<std::optional<WakeRecord>> done) {
  read_threads_->Run([this, id = std::move(id),
                      request_id = std::move(request_id),
                      done = std::move(done)]() mutable {
    std::move(done)(Read<std::optional<WakeRecord>>(
        [&](PgConnection& c) { return PgQueryWake(c, id, request_id); }));
  });
}

absl::Status PostgresStore::ForEachUnfinishedTask(
    absl::FunctionRef<absl::Status(TaskRecord)> visit, int page_size) {
  page_size = std::max(1, page_size);
  int64_t after = 0;
  PgParsedDefinitions parsed;  // across pages
  for (;;) {
    std::vector<std::pair<int64_t, TaskRecord>> page;
    absl::Status read = pool_->Run([&](PgConnection& c) {
      return PgQueryUnfinished(c, after, page_size, page, parsed);
    });
    if (!read.ok()) return read;
    for (auto& [position, record] : page) {
      if (absl::Status visited = visit(std::move(record)); !visited.ok()) {
        return visited;
      }
    }
    if (static_cast<int>(page.size()) < page_size) return absl::OkStatus();
    after = page.back().first;
  }
}

}  // namespace corosched::server
