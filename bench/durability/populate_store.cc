// populate_store: fills a data directory with N unfinished tasks, as a
// daemon would have left them, for the recovery benchmark: each runs the
// `await-go` definition (awaits signal `go`, no timeout) and is recorded
// the way the daemon records it, created READY and then, after its first
// poll, AWAITING in WAIT: a task waiting for a signal. (--ready records
// only the creation, as if the daemon died before the first poll, so the
// recovering daemon runs every task to its await and records that too.)
//
//   populate_store --data-dir DIR --tasks N [--ready]
// Writes through SqliteStore (group commit), prints {"tasks":..,"seconds":..}.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "core/machine/machine.h"
#include "core/machine/program.h"
#include "server/store/sqlite_store.h"

namespace corosched::server {
namespace {

v1::TaskDefinition AwaitGo() {
  v1::TaskDefinition definition;
  definition.set_name("await-go");
  definition.set_initial("WAIT");
  auto& states = *definition.mutable_states();
  (*states["WAIT"].mutable_await()->mutable_signals())["go"] = "DONE";
  states["DONE"].mutable_complete()->set_result("went");
  return definition;
}

int Populate(const std::string& dir, int tasks, bool ready) {
  absl::StatusOr<std::unique_ptr<SqliteStore>> store =
      SqliteStore::Open({.data_dir = dir, .quick_check = false});
  if (!store.ok()) {
    std::fprintf(stderr, "populate_store: %s\n",
                 std::string(store.status().message()).c_str());
    return 1;
  }
  auto program = machine::Program::Compile(AwaitGo());
  if (!program.ok()) return 1;
  machine::Machine machine = machine::Machine::Start(*program);
  const v1::TaskSnapshot snapshot = machine.Snapshot();
  (void)machine.Poll(absl::Now());
  const v1::TaskSnapshot awaiting = machine.Snapshot();
  const absl::Time begin = absl::Now();
  absl::Mutex mu;
  int in_flight = 0;
  int failed = 0;
  for (int i = 0; i < tasks; ++i) {
    {
      // At most 20000 queued, so memory stays flat.
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(
          +[](int* n) { return *n < 20000; }, &in_flight));
      ++in_flight;
    }
    TaskRecord record;
    record.id = absl::StrCat("recovered-", i);
    record.definition = std::shared_ptr<const v1::TaskDefinition>(
        *program, &(*program)->definition());
    record.created_at = absl::Now();
    record.snapshot = snapshot;
    v1::TaskEvent first;
    first.mutable_transition()->set_state(snapshot.state());
    first.mutable_transition()->set_status(snapshot.status());
    const std::string id = record.id;
    (*store)->CreateTaskAsync(
        std::move(record), {std::move(first)},
        [&](const absl::StatusOr<CreateTaskResult>& created) {
          absl::MutexLock lock(&mu);
          if (!created.ok()) ++failed;
          if (ready) --in_flight;  // else on progress
        });
    if (ready) continue;
    TaskProgress progress;
    progress.snapshot = awaiting;
    v1::TaskEvent& moved = progress.events.emplace_back();
    moved.mutable_transition()->set_state(awaiting.state());
    moved.mutable_transition()->set_status(awaiting.status());
    (*store)->RecordProgressAsync(id, std::move(progress),
                                  [&](const absl::StatusOr<uint64_t>& written) {
                                    absl::MutexLock lock(&mu);
                                    if (!written.ok()) ++failed;
                                    --in_flight;
                                  });
  }
  {
    absl::MutexLock lock(&mu);
    mu.Await(absl::Condition(
        +[](int* n) { return *n == 0; }, &in_flight));
  }
  store->reset();
  std::printf("{\"tasks\":%d,\"failed\":%d,\"seconds\":%.1f}\n", tasks, failed,
              absl::ToDoubleSeconds(absl::Now() - begin));
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace corosched::server

int main(int argc, char** argv) {
  std::string dir;
  int tasks = 0;
  bool ready = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--ready") == 0) ready = true;
    if (i + 1 >= argc) continue;
    if (std::strcmp(argv[i], "--data-dir") == 0) dir = argv[i + 1];
    if (std::strcmp(argv[i], "--tasks") == 0) tasks = std::atoi(argv[i + 1]);
  }
  if (dir.empty() || tasks <= 0) {
    std::fprintf(stderr,
                 "usage: populate_store --data-dir DIR --tasks N [--ready]\n");
    return 2;
  }
  return corosched::server::Populate(dir, tasks, ready);
}
