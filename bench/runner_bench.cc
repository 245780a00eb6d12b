// The daemon's per-task bookkeeping, without gRPC: hello tasks started
// through TaskRunner on the in-memory store (admission, the task's record
// and first event, its recorded polls, retention of finished tasks), against
// the same machines spawned bare on the same executor (SpawnMachine, with the
// MachineTask kept, as the runner keeps it to deliver wakes; no store).
// Both sides spawn from this thread, not from a worker, as gRPC's threads do.
//
// gRPC runs in the same process as this work in the daemon and costs more
// than it, and its share moves with the machine's load; this benchmark takes
// it away, so a change to the runner, the recorder or the store shows as CPU
// per task, which a loaded machine disturbs far less than the service
// benchmark's throughput (bench/loadgen). No target: the ratio says what the
// bookkeeping costs on top of the interpreter.
//
// Method: each benchmark iteration builds one executor and one runner, then
// runs bare and through-the-runner rounds alternately (a warm-up of each,
// then 3 rounds), `tasks` tasks a round; the best round of each side counts.
// Counters: tasks/s (wall) and CPU microseconds per task (process CPU time
// over tasks), for each side, and cpu_ratio = bare / runner CPU per task.
//
// BM_RunnerHelloDurable: the same runner on the durable SQLite store
// (synchronous commits, a new data directory under the working directory,
// removed after: SqliteTestDir) against the in-memory store, rounds alternated.
// A client keeps a window of 64 submits unanswered, as bench/loadgen's 4 x 16
// do, so the group commits are the size the service sees. Counters: tasks/s and
// CPU microseconds per task of each store, sync_ratio (tasks/s, sqlite over
// memory) and durable_extra_cpu_us: what the durable store adds per task,
// the figure bench/durability/run.sh's sync/none ratio turns on, without
// gRPC and its noise.
//
// Flags: Google Benchmark's, plus --quick for small sizes (a smoke test).
// Results and the command: docs/PERFORMANCE.md, "The service" and
// "Durability".

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "bench/bench_main.h"
#include "benchmark/benchmark.h"
#include "client/definition_json.h"
#include "core/executor.h"
#include "core/machine/machine_task.h"
#include "core/machine/program.h"
#include "server/store/memory_store.h"
#include "server/store/sqlite_store.h"
#include "server/store/testing/sqlite_test_dir.h"
#include "server/tasks/stream_hub.h"
#include "server/tasks/task_runner.h"

namespace corosched {
namespace {

using SteadyClock = std::chrono::steady_clock;

int g_tasks = 100'000;
constexpr int kRounds = 3;

std::shared_ptr<const machine::Program> HelloProgram() {
  absl::StatusOr<v1::TaskDefinition> definition =
      ParseTaskDefinitionJson(bench::kHelloJson);
  absl::StatusOr<std::shared_ptr<const machine::Program>> program =
      definition.ok() ? machine::Program::Compile(*std::move(definition))
                      : definition.status();
  if (!program.ok()) {
    std::fprintf(stderr, "runner_bench: %s\n",
                 program.status().ToString().c_str());
    std::abort();
  }
  return *std::move(program);
}

struct Round {
  double tasks_per_s = 0;
  double cpu_us_per_task = 0;
};

// Times `run`, which does `tasks` tasks and returns once all ended.
template <typename Run>
Round Measure(int tasks, Run run) {
  const double cpu_start = bench::ProcessCpuSeconds();
  const auto wall_start = SteadyClock::now();
  run();
  const double wall =
      std::chrono::duration<double>(SteadyClock::now() - wall_start).count();
  return Round{tasks / wall,
               (bench::ProcessCpuSeconds() - cpu_start) * 1e6 / tasks};
}

// The ceiling: the machines alone, spawned and joined from this thread.
void RunBare(Executor& executor,
             const std::shared_ptr<const machine::Program>& program,
             int tasks) {
  std::vector<machine::SpawnedMachine> spawned;
  spawned.reserve(tasks);
  for (int i = 0; i < tasks; ++i) {
    auto one = machine::SpawnMachine(executor, machine::Machine::Start(program),
                                     [](uint64_t, absl::string_view) {});
    if (!one.ok()) std::abort();
    spawned.push_back(*std::move(one));
  }
  for (machine::SpawnedMachine& one : spawned) {
    if (!std::move(one.handle).Wait().ok()) std::abort();
  }
}

// A new task's record as TaskService::Admit makes it, for a daemon-chosen id.
server::TaskRecord NewRecord(
    const std::shared_ptr<const machine::Program>& program, std::string id) {
  server::TaskRecord record;
  record.id = std::move(id);
  record.definition = std::shared_ptr<const v1::TaskDefinition>(
      program, &program->definition());
  record.created_at = absl::Now();
  return record;
}

// The daemon's path: TaskRunner::Start as TaskService::SubmitTask calls it,
// then waits until every task ended and was recorded.
void RunThroughRunner(server::TaskRunner& runner,
                      const std::shared_ptr<const machine::Program>& program,
                      int tasks, int round) {
  std::atomic<int> failed{0};
  for (int i = 0; i < tasks; ++i) {
    runner.Start(NewRecord(program, absl::StrCat("r", round, "-", i)), program,
                 machine::Machine::Start(program),
                 [&failed](const absl::StatusOr<server::StartedTask>& started) {
                   if (!started.ok()) failed.fetch_add(1);
                 });
  }
  if (!runner.WaitUntilIdle(absl::Now() + absl::Seconds(120)) ||
      failed.load() != 0) {
    std::fprintf(stderr, "runner_bench: %d submits failed or tasks hung\n",
                 failed.load());
    std::abort();
  }
}

// RunThroughRunner with at most `window` submits unanswered at once, as a
// closed-loop client keeps them.
void RunWindowed(server::TaskRunner& runner,
                 const std::shared_ptr<const machine::Program>& program,
                 int tasks, int round, int window) {
  absl::Mutex mu;
  absl::CondVar answered;
  int in_flight = 0;
  int failed = 0;
  for (int i = 0; i < tasks; ++i) {
    {
      absl::MutexLock lock(&mu);
      while (in_flight >= window) answered.Wait(&mu);
      ++in_flight;
    }
    // May run here, inline (the in-memory store), or on the writer thread.
    runner.Start(NewRecord(program, absl::StrCat("w", round, "-", i)), program,
                 machine::Machine::Start(program),
                 [&](const absl::StatusOr<server::StartedTask>& started) {
                   absl::MutexLock lock(&mu);
                   if (!started.ok()) ++failed;
                   --in_flight;
                   answered.Signal();
                 });
  }
  const bool idle = runner.WaitUntilIdle(absl::Now() + absl::Seconds(120));
  absl::MutexLock lock(&mu);
  while (in_flight > 0) answered.Wait(&mu);
  if (!idle || failed != 0) {
    std::fprintf(stderr, "runner_bench: %d submits failed or tasks hung\n",
                 failed);
    std::abort();
  }
}

// Keeps `round` as `best` when it took less CPU per task: the least
// disturbed round counts.
void KeepBest(const Round& round, Round& best) {
  if (best.tasks_per_s == 0 || round.cpu_us_per_task < best.cpu_us_per_task) {
    best = round;
  }
}

// Runs `first` and `second` alternately, g_tasks tasks each time: a warm-up,
// then kRounds rounds, keeping each side's best round.
template <typename First, typename Second>
void Alternate(First first, Second second, Round& first_best,
               Round& second_best) {
  for (int i = 0; i <= kRounds; ++i) {  // round 0 warms up
    const Round a = Measure(g_tasks, first);
    const Round b = Measure(g_tasks, second);
    if (i == 0) continue;
    KeepBest(a, first_best);
    KeepBest(b, second_best);
  }
}

// SIDE_tasks_per_s and SIDE_cpu_us, from `round`.
void Report(benchmark::State& state, const char* side, const Round& round) {
  state.counters[absl::StrCat(side, "_tasks_per_s")] = round.tasks_per_s;
  state.counters[absl::StrCat(side, "_cpu_us")] = round.cpu_us_per_task;
}

// The benchmarks' executor: two workers, room for every task of a run.
std::unique_ptr<Executor> TwoWorkers() {
  auto executor = Executor::Create({.workers = 2, .max_tasks = 4'000'000});
  if (!executor.ok()) std::abort();
  return *std::move(executor);
}

void BM_RunnerHelloDurable(benchmark::State& state) {
  constexpr int kWindow = 64;
  const std::shared_ptr<const machine::Program> program = HelloProgram();
  Round memory_best, sqlite_best;
  int round = 0;
  for (auto _ : state) {
    const std::unique_ptr<Executor> executor = TwoWorkers();
    // On the disk the benchmark runs from (not /tmp, which may be a tmpfs
    // where an fsync costs nothing); removed with the store in it.
    const server::SqliteTestDir dir(std::filesystem::current_path().string());
    if (dir.path().empty()) {
      std::perror("runner_bench: a data directory in the working directory");
      std::abort();
    }
    {
      auto sqlite = server::SqliteStore::Open({.data_dir = dir.path()});
      if (!sqlite.ok()) {
        std::fprintf(stderr, "runner_bench: %s\n",
                     sqlite.status().ToString().c_str());
        std::abort();
      }
      server::MemoryStore memory;
      server::StreamHub hub;
      auto on_memory =
          std::make_unique<server::TaskRunner>(*executor, memory, hub);
      auto on_sqlite =
          std::make_unique<server::TaskRunner>(*executor, **sqlite, hub);
      Alternate(
          [&] { RunWindowed(*on_memory, program, g_tasks, ++round, kWindow); },
          [&] { RunWindowed(*on_sqlite, program, g_tasks, ++round, kWindow); },
          memory_best, sqlite_best);
      on_memory->BeginShutdown();
      on_sqlite->BeginShutdown();
      executor->Shutdown(ShutdownMode::kCancel);
    }
  }
  Report(state, "memory", memory_best);
  Report(state, "sqlite", sqlite_best);
  state.counters["sync_ratio"] =
      sqlite_best.tasks_per_s / memory_best.tasks_per_s;
  state.counters["durable_extra_cpu_us"] =
      sqlite_best.cpu_us_per_task - memory_best.cpu_us_per_task;
}
BENCHMARK(BM_RunnerHelloDurable)->Iterations(1)->Unit(benchmark::kSecond);

void BM_RunnerHello(benchmark::State& state) {
  const std::shared_ptr<const machine::Program> program = HelloProgram();
  Round bare, runner_best;
  int round = 0;
  for (auto _ : state) {
    const std::unique_ptr<Executor> executor = TwoWorkers();
    server::MemoryStore store;
    server::StreamHub hub;
    auto runner = std::make_unique<server::TaskRunner>(*executor, store, hub);
    Alternate([&] { RunBare(*executor, program, g_tasks); },
              [&] { RunThroughRunner(*runner, program, g_tasks, ++round); },
              bare, runner_best);
    runner->BeginShutdown();
    executor->Shutdown(ShutdownMode::kCancel);
  }
  Report(state, "bare", bare);
  Report(state, "runner", runner_best);
  state.counters["cpu_ratio"] =
      bare.cpu_us_per_task / runner_best.cpu_us_per_task;
}
BENCHMARK(BM_RunnerHello)->Iterations(1)->Unit(benchmark::kSecond);

}  // namespace
}  // namespace corosched

int main(int argc, char** argv) {
  return corosched::bench::RunBenchmarkMain("runner_bench", argc, argv,
                                            [] { corosched::g_tasks = 2'000; });
}
