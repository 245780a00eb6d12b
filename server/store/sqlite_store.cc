#include "server/store/sqlite_store.h"

#include <algorithm>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/store/data_dir_files.h"
#include "server/store/sqlite_queries.h"
#include "server/store/sqlite_schema.h"
#include "server/store/sqlite_writes.h"

namespace corosched::server {

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    SqliteStoreOptions options) {
  absl::StatusOr<std::unique_ptr<DataDirLock>> lock =
      DataDirLock::Acquire(options.data_dir);
  if (!lock.ok()) return lock.status();
  SqliteConnection::Options connection{
      .path = absl::StrCat(options.data_dir, "/", kDatabaseFile),
      .vfs = options.vfs,
      .writer = true};
  absl::StatusOr<std::vector<std::string>> tightened =
      RestrictDatabaseFiles(connection.path);
  if (!tightened.ok()) return tightened.status();
  std::string open_dir = DataDirAccessWarning(options.data_dir);
  if (!open_dir.empty()) tightened->push_back(std::move(open_dir));
  if (options.on_warning) {
    for (const std::string& warning : *tightened) options.on_warning(warning);
  }
  absl::StatusOr<std::unique_ptr<SqliteConnection>> writer =
      OpenStoreDatabase(connection, {.quick_check = options.quick_check});
  if (!writer.ok()) return writer.status();

  std::unique_ptr<SqliteStore> store(new SqliteStore(
      *std::move(lock), connection.path, options.purge_chunk_tasks));
  store->writer_state_->max_events_per_task = options.max_events_per_task;
  connection.writer = false;
  store->readers_ = std::make_unique<SqliteReaderPool>(
      connection, std::max(1, options.max_readers));
  store->read_threads_ =
      std::make_unique<ReadThreads>(std::max(1, options.read_threads));
  store->writer_ = std::make_unique<GroupCommitWriter>(
      *std::move(writer),
      GroupCommitOptions{.max_batch_writes = options.max_batch_writes,
                         .checkpoint_wal_pages = options.checkpoint_wal_pages,
                         .observer = options.observer,
                         .on_fatal_error = std::move(options.on_fatal_error),
                         .before_commit = [state = store->writer_state_.get()](
                                              SqliteConnection& c) {
                           return state->status_counts.Flush(c);
                         }});
  return store;
}

SqliteStore::~SqliteStore() {
  writer_->Stop();        // callbacks of the last writes may still read,
  read_threads_.reset();  // and queued reads still run (their writes are
  readers_.reset();       // refused); then the readers close, so the writer
  writer_.reset();        // closes last and checkpoints the WAL
}

// --- Plumbing ----------------------------------------------------------------

template <typename T>
void SqliteStore::Submit(
    absl::AnyInvocable<absl::StatusOr<T>(SqliteConnection&)> apply,
    Done<T> done, bool durable) {
  // Written by `apply` and read by `done`, both on the writer thread.
  auto result = std::make_shared<std::optional<absl::StatusOr<T>>>();
  writer_->Submit(
      {.apply =
           [apply = std::move(apply),
            result](SqliteConnection& connection) mutable {
             *result = apply(connection);
             return (*result)->status();
           },
       .done =
           [done = std::move(done), result](absl::Status status) mutable {
             if (!done) return;
             if (!status.ok()) {
               std::move(done)(std::move(status));  // refused, or not on disk
             } else if (!result->has_value()) {
               std::move(done)(absl::InternalError("write finished unapplied"));
             } else {
               std::move(done)(std::move(**result));
             }
           },
       .durable = durable,
       // Every write in sqlite_writes.h decides a refusal before it writes.
       .refuses_before_writing = true});
}

template <typename T>
absl::StatusOr<T> SqliteStore::Read(
    absl::FunctionRef<absl::StatusOr<T>(SqliteConnection&)> read) {
  std::optional<absl::StatusOr<T>> result;
  absl::Status status = readers_->Run([&](SqliteConnection& connection) {
    result = read(connection);
    return result->status();
  });
  if (!status.ok() || !result.has_value()) return status;
  return *std::move(result);
}

// --- Writes ------------------------------------------------------------------

void SqliteStore::PutDefinitionAsync(v1::TaskDefinition definition,
                                     absl::Time now,
                                     Done<PutDefinitionResult> done) {
  Submit<PutDefinitionResult>(
      [definition = std::move(definition), now](SqliteConnection& c) {
        return WriteDefinition(c, definition, now);
      },
      std::move(done), /*durable=*/true);
}

void SqliteStore::CreateTaskAsync(TaskRecord record,
                                  std::vector<v1::TaskEvent> first_events,
                                  Done<CreateTaskResult> done) {
  if (record.request_fingerprint.empty()) {
    CreateJoinable(std::move(record), std::move(first_events), std::move(done));
    return;
  }
  // A client-chosen id may name a task that exists, or that another create
  // of the same id is making: progress queued meanwhile belongs to whichever
  // task holds the id, so nothing joins this create.
  joiner_.EndJoining(record.id);
  Submit<CreateTaskResult>(
      [this, record = std::move(record),
       events = std::move(first_events)](SqliteConnection& c) mutable {
        return WriteNewTask(c, std::move(record), std::move(events),
                            *writer_state_);
      },
      std::move(done), /*durable=*/true);
}

void SqliteStore::CreateJoinable(TaskRecord record,
                                 std::vector<v1::TaskEvent> first_events,
                                 Done<CreateTaskResult> done) {
  // The task's progress queued from now on joins this write until the
  // writer takes it.
  std::shared_ptr<ProgressJoiner::Queued> joinable =
      joiner_.AddCreate(record.id);
  // Written on the writer thread by `apply`, read there by `done`.
  auto joined_last = std::make_shared<absl::StatusOr<uint64_t>>(
      absl::InternalError("the create was not written"));
  std::string id = record.id;
  Submit<CreateTaskResult>(
      [this, joinable, joined_last, record = std::move(record),
       events = std::move(first_events)](
          SqliteConnection& c) mutable -> absl::StatusOr<CreateTaskResult> {
        std::optional<TaskProgress> joined = joinable->Take();
        if (!joined.has_value()) {
          return WriteNewTask(c, std::move(record), std::move(events),
                              *writer_state_);
        }
        return WriteNewTaskWithProgress(c, std::move(record), std::move(events),
                                        *std::move(joined), *writer_state_,
                                        *joined_last);
      },
      [this, id = std::move(id), joinable, joined_last, done = std::move(done)](
          absl::StatusOr<CreateTaskResult> created) mutable {
        std::vector<ProgressJoiner::Done> dones = joiner_.Finish(id, *joinable);
        // Not stored unless the create is: a refused create, or a failed
        // commit, fails what joined it.
        const absl::StatusOr<uint64_t> last =
            created.ok() ? *joined_last : created.status();
        if (done) std::move(done)(std::move(created));
        for (ProgressJoiner::Done& joined_done : dones) joined_done(last);
      },
      /*durable=*/true);
}

void SqliteStore::RecordWakeSignalAsync(std::string id, std::string request_id,
                                        WakeRecord wake,
                                        v1::PendingSignal signal,
                                        StatusDone done) {
  joiner_.EndJoining(id);  // later progress is the wake's successor
  Submit<bool>(
      [id, request_id = std::move(request_id), wake, signal = std::move(signal),
       state =
           writer_state_.get()](SqliteConnection& c) -> absl::StatusOr<bool> {
        absl::Status written =
            WriteWakeSignal(c, id, request_id, wake, signal, *state);
        if (!written.ok()) return written;
        return true;
      },
      [done = std::move(done)](const absl::StatusOr<bool>& written) mutable {
        if (done) std::move(done)(written.status());
      },
      /*durable=*/true);
}

void SqliteStore::RecordProgressAsync(std::string id, TaskProgress progress,
                                      Done<uint64_t> done) {
  const bool durable = progress.durable;
  std::shared_ptr<ProgressJoiner::Queued> queued =
      joiner_.AddProgress(id, std::move(progress), std::move(done));
  if (queued == nullptr) return;  // joined a write still queued
  // Outside the joiner's lock: a failed writer answers at once, here.
  Submit<uint64_t>(
      [id, queued, state = writer_state_.get()](SqliteConnection& c) {
        // A progress write's Take always holds progress: its own.
        return WriteProgress(c, id, *queued->Take(), *state);
      },
      [this, id, queued](const absl::StatusOr<uint64_t>& written) {
        joiner_.Answer(id, *queued, written);
      },
      durable);
}

void SqliteStore::PurgeFinishedBeforeAsync(absl::Time cutoff, int max_rows,
                                           Done<int> done) {
  PurgeInChunks(
      purge_chunk_tasks_, max_rows,
      [this, cutoff](int chunk, Done<int> deleted) {
        Submit<int>(
            [cutoff, chunk, state = writer_state_.get()](SqliteConnection& c) {
              return DeleteFinishedBefore(c, cutoff, chunk, *state);
            },
            std::move(deleted), /*durable=*/false);
      },
      std::move(done));
}

// --- Reads -------------------------------------------------------------------

absl::StatusOr<DefinitionRecord> SqliteStore::GetDefinition(
    absl::string_view name, absl::string_view version) {
  return Read<DefinitionRecord>(
      [&](SqliteConnection& c) { return QueryDefinition(c, name, version); });
}

absl::StatusOr<DefinitionPage> SqliteStore::ListDefinitions(
    const DefinitionQuery& query) {
  return Read<DefinitionPage>(
      [&](SqliteConnection& c) { return QueryDefinitions(c, query); });
}

absl::StatusOr<TaskRecord> SqliteStore::GetTask(absl::string_view id) {
  return Read<TaskRecord>(
      [&](SqliteConnection& c) -> absl::StatusOr<TaskRecord> {
        absl::StatusOr<std::optional<TaskRecord>> found = FindTask(c, id);
        if (!found.ok()) return found.status();
        if (!found->has_value()) return TaskNotFoundError(id);
        return **std::move(found);
      });
}

void SqliteStore::GetTaskAsync(std::string id, Done<TaskRecord> done) {
  // Answered after Read returned its connection, outside the transaction.
  read_threads_->Run(
      [this, id = std::move(id), done = std::move(done)]() mutable {
        std::move(done)(GetTask(id));
      });
}

absl::StatusOr<TaskPage> SqliteStore::ListTasks(const TaskQuery& query) {
  return Read<TaskPage>(
      [&](SqliteConnection& c) { return QueryTasks(c, query); });
}

absl::StatusOr<EventBatch> SqliteStore::ReadEvents(absl::string_view id,
                                                   uint64_t after_sequence,
                                                   int max_events) {
  return Read<EventBatch>([&](SqliteConnection& c) {
    return QueryEvents(c, id, after_sequence, max_events);
  });
}

absl::StatusOr<std::map<v1::TaskStatus, uint64_t>>
SqliteStore::CountTasksByStatus() {
  return Read<std::map<v1::TaskStatus, uint64_t>>(
      [&](SqliteConnection& c) { return QueryStatusCounts(c); });
}

absl::StatusOr<std::map<v1::TaskStatus, uint64_t>>
SqliteStore::CountTasksByStatusIn(absl::string_view namespace_name) {
  return Read<std::map<v1::TaskStatus, uint64_t>>([&](SqliteConnection& c) {
    return QueryStatusCountsIn(c, namespace_name);
  });
}

void SqliteStore::FindWakeAsync(std::string id, std::string request_id,
                                Done<std::optional<WakeRecord>> done) {
  read_threads_->Run([this, id = std::move(id),
                      request_id = std::move(request_id),
                      done = std::move(done)]() mutable {
    std::move(done)(Read<std::optional<WakeRecord>>(
        [&](SqliteConnection& c) { return QueryWake(c, id, request_id); }));
  });
}

absl::Status SqliteStore::ForEachUnfinishedTask(
    absl::FunctionRef<absl::Status(TaskRecord)> visit, int page_size) {
  page_size = std::max(1, page_size);
  int64_t after = 0;
  // Across pages: a million tasks of one definition parse it once.
  ParsedDefinitions parsed;
  for (;;) {
    std::vector<std::pair<int64_t, TaskRecord>> page;
    absl::Status read = readers_->Run([&](SqliteConnection& c) {
      return QueryUnfinished(c, after, page_size, page, parsed);
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

absl::StatusOr<uint64_t> SqliteStore::CountUnfinishedTasks() {
  return Read<uint64_t>([](SqliteConnection& c) -> absl::StatusOr<uint64_t> {
    absl::StatusOr<int64_t> count =
        c.QueryInt("SELECT count(*) FROM tasks WHERE finished_at_ns IS NULL");
    if (!count.ok()) return count.status();
    return static_cast<uint64_t>(*count);
  });
}

}  // namespace corosched::server
