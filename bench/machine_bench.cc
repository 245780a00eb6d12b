// Interpreter benchmarks: task definitions run by core/machine against the
// same work written natively, on the same executor, in the same process.
//
//  - BM_HelloTasks: tasks/s of the seed's hello definition (three polls, two
//    emits) against the native examples::HelloFuture.
//    Target: interpreted / native >= 0.5.
//  - BM_StateTransitions: state transitions/s of a definition that is a
//    chain of 100 `yield` states (one transition = one poll that wakes
//    itself) against the executor's raw self-wake rate (a future that wakes
//    itself 100 times). Target: interpreted / raw >= 0.75.
//  - BM_HelloTasksObserved and BM_StateTransitionsObserved (no target): the
//    same with every task's MachineTask kept, as the daemon keeps it to
//    deliver wakes; such a task meets outside code under a mutex at the
//    start and end of each poll. The targeted runs use detached tasks, which
//    nobody can wake or observe, like the native futures they are held to.
//  - BM_CountingLoop (no target): a loop of add + choice + yield, 100
//    rounds, as polls/s against the raw self-wake rate.
//  - BM_StateTransitionsMetrics (target: >= 0.95, metrics cost under 5%): the
//    observed chain with the daemon's ServerMetrics as every task's
//    MachineObserver (a sharded counter add per yield) against the same
//    chain without an observer.
//
// Method: each benchmark iteration builds one executor and runs the native
// and the interpreted workload alternately, a warm-up first, then 3 rounds
// of each; the best round of each side gives its rate. Two ratios:
//  - "ratio": of wall-clock rates (the figure the targets are about);
//  - "cpu_ratio": of rates per second of process CPU time, which a loaded
//    machine disturbs much less (idle workers park and burn no CPU).
// Both sides spawn every task from inside a driver task and join them all,
// as bench/executor_bench.cc does.
//
// Flags: Google Benchmark's, plus --quick for small sizes (a smoke test).
// Results and the command: docs/PERFORMANCE.md, "Task definitions".

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "bench/bench_main.h"
#include "benchmark/benchmark.h"
#include "client/definition_json.h"
#include "core/examples/hello.h"
#include "core/executor.h"
#include "core/machine/machine_task.h"
#include "core/machine/program.h"
#include "server/metrics/server_metrics.h"

namespace corosched {
namespace {

using machine::Machine;
using machine::MachineTask;
using machine::Program;
using SteadyClock = std::chrono::steady_clock;

struct Sizes {
  int hello_tasks;
  int chain_tasks;
  int chain_length;
};
constexpr Sizes kFullSizes = {200'000, 10'000, 100};
constexpr Sizes kQuickSizes = {5'000, 200, 100};
Sizes g_sizes = kFullSizes;
constexpr int kRounds = 3;

// S0 -> S1 -> ... -> S<length-1> -> END, every state a yield.
std::string ChainJson(int length) {
  std::string states;
  for (int i = 0; i < length; ++i) {
    const std::string next =
        i + 1 == length ? std::string("END") : absl::StrCat("S", i + 1);
    absl::StrAppend(&states, "\"S", i, "\": {\"yield\": {\"next\": \"", next,
                    "\"}}, ");
  }
  return absl::StrCat(R"({"name": "chain", "initial": "S0", "states": {)",
                      states, R"("END": {"complete": {}}}})");
}

// Input `n` rounds of: n -= 1; n > 0 ? yield and loop : end.
constexpr const char* kLoopJson = R"({"name": "loop", "initial": "TICK",
  "states": {
    "TICK": {"actions": [{"add": {"variable": "n", "amount": -1}}],
             "choice": {"when": [{"variable": "n", "greaterThan": {"number": 0},
                                  "next": "WAIT"}], "otherwise": "END"}},
    "WAIT": {"yield": {"next": "TICK"}},
    "END": {"complete": {}}}})";

// Compiles each definition once; they live for the whole run.
const std::shared_ptr<const Program>& Compiled(const std::string& json) {
  static auto* programs =
      new std::vector<std::pair<std::string, std::shared_ptr<const Program>>>();
  for (const auto& [source, program] : *programs) {
    if (source == json) return program;
  }
  absl::StatusOr<v1::TaskDefinition> definition = ParseTaskDefinitionJson(json);
  absl::StatusOr<std::shared_ptr<const Program>> program =
      definition.ok() ? Program::Compile(*std::move(definition))
                      : definition.status();
  if (!program.ok()) {
    std::fprintf(stderr, "machine_bench: %s\n",
                 program.status().ToString().c_str());
    std::abort();
  }
  return programs->emplace_back(json, *std::move(program)).second;
}

// The executor's raw self-wake: Pending `remaining` times, waking itself.
class SelfWake {
 public:
  using Output = void;
  explicit SelfWake(int remaining) : remaining_(remaining) {}
  corosched::Poll<void> Poll(Context& cx) {
    if (remaining_ == 0) return corosched::Poll<void>::Ready();
    --remaining_;
    cx.waker().WakeByRef();
    return corosched::Poll<void>::Pending();
  }

 private:
  int remaining_;
};

absl::Status StatusOf(const absl::Status& status) { return status; }
template <typename T>
absl::Status StatusOf(const absl::StatusOr<T>& result) {
  return result.status();
}

template <typename T>
Co<absl::Status> JoinEach(std::vector<JoinHandle<T>>& handles) {
  for (JoinHandle<T>& handle : handles) {
    auto done = co_await handle;
    if (!done.ok()) co_return StatusOf(done);
  }
  co_return absl::OkStatus();
}

// Spawns `count` futures made by `make(i)` from inside a task and joins them
// all.
template <typename MakeFuture>
Co<absl::Status> SpawnAndJoin(Spawner spawner, int count, MakeFuture make) {
  using Output = typename decltype(make(0))::Output;
  std::vector<JoinHandle<Output>> handles;
  handles.reserve(count);
  for (int i = 0; i < count; ++i) {
    auto handle = spawner.Spawn(make(i));
    if (!handle.ok()) co_return handle.status();
    handles.push_back(*std::move(handle));
  }
  co_return co_await JoinEach(handles);
}

// Work done per second of wall-clock time and per second of CPU time.
struct Rates {
  double wall = 0;
  double cpu = 0;
};

// Runs SpawnAndJoin(count, make) on `executor`; `work` units in all.
template <typename MakeFuture>
absl::StatusOr<Rates> Measure(Executor& executor, int count, double work,
                              MakeFuture make) {
  const double cpu_start = bench::ProcessCpuSeconds();
  const auto wall_start = SteadyClock::now();
  auto handle = executor.Spawn(SpawnAndJoin(executor.spawner(), count, make));
  if (!handle.ok()) return handle.status();
  absl::StatusOr<absl::Status> joined = std::move(*handle).Wait();
  if (!joined.ok()) return joined.status();
  if (!joined->ok()) return *joined;
  const double wall =
      std::chrono::duration<double>(SteadyClock::now() - wall_start).count();
  return Rates{work / wall, work / (bench::ProcessCpuSeconds() - cpu_start)};
}

// An interpreted task writing its output to `out`, as HelloFuture does:
// detached (nobody can wake or observe it, as nobody can a native future),
// or, with `keep`, observed through the MachineTask kept there.
machine::MachineFuture Interpreted(
    Executor& executor, const std::shared_ptr<const Program>& program,
    std::string* out,
    const google::protobuf::Map<std::string, v1::Value>* inputs,
    std::shared_ptr<MachineTask>* keep = nullptr,
    machine::MachineObserver* observer = nullptr) {
  machine::OutputCallback on_output;
  if (out != nullptr) {
    on_output = [out](uint64_t, absl::string_view text) {
      out->append(text.data(), text.size());
    };
  }
  Machine machine = inputs == nullptr ? Machine::Start(program)
                                      : *Machine::Start(program, *inputs);
  if (keep == nullptr) {
    return machine::MachineFuture::Detached(
        std::move(machine), &executor.timers(), std::move(on_output));
  }
  *keep = MachineTask::Create(std::move(machine), &executor.timers(),
                              std::move(on_output), observer);
  return (*keep)->MakeFuture();
}

// --- The workloads: each returns its rates from one run. ---

// Each task writes to its own string, as one task's output would be kept.
std::vector<std::string>& Outputs() {
  static auto* outputs = new std::vector<std::string>();
  outputs->assign(g_sizes.hello_tasks, std::string());
  return *outputs;
}

absl::StatusOr<Rates> CheckOutput(absl::StatusOr<Rates> rates,
                                  const std::vector<std::string>& outputs,
                                  absl::string_view expected) {
  if (rates.ok() && outputs.back() != expected) {
    return absl::InternalError(
        absl::StrCat("wrong output \"", outputs.back(), "\""));
  }
  return rates;
}

absl::StatusOr<Rates> HelloNative(Executor& executor) {
  std::vector<std::string>& outputs = Outputs();
  const int n = g_sizes.hello_tasks;
  return CheckOutput(
      Measure(executor, n, n,
              [&](int i) { return examples::HelloFuture(&outputs[i]); }),
      outputs, "Hello, World!");
}

absl::StatusOr<Rates> HelloInterpreted(Executor& executor, bool observed) {
  std::vector<std::string>& outputs = Outputs();
  const std::shared_ptr<const Program>& program = Compiled(bench::kHelloJson);
  const int n = g_sizes.hello_tasks;
  std::vector<std::shared_ptr<MachineTask>> kept(observed ? n : 0);
  return CheckOutput(Measure(executor, n, n,
                             [&](int i) {
                               return Interpreted(
                                   executor, program, &outputs[i], nullptr,
                                   observed ? &kept[i] : nullptr);
                             }),
                     outputs, "Hello, World!\n");
}

absl::StatusOr<Rates> HelloDetached(Executor& executor) {
  return HelloInterpreted(executor, /*observed=*/false);
}

absl::StatusOr<Rates> HelloObserved(Executor& executor) {
  return HelloInterpreted(executor, /*observed=*/true);
}

double ChainWork() {
  return double{1.0} * g_sizes.chain_tasks * g_sizes.chain_length;
}

absl::StatusOr<Rates> SelfWakeRaw(Executor& executor) {
  const int length = g_sizes.chain_length;
  return Measure(executor, g_sizes.chain_tasks, ChainWork(),
                 [length](int) { return SelfWake(length); });
}

absl::StatusOr<Rates> ChainInterpreted(Executor& executor) {
  const auto& program = Compiled(ChainJson(g_sizes.chain_length));
  return Measure(executor, g_sizes.chain_tasks, ChainWork(), [&](int) {
    return Interpreted(executor, program, nullptr, nullptr);
  });
}

absl::StatusOr<Rates> ChainObservedBy(Executor& executor,
                                      machine::MachineObserver* observer) {
  const auto& program = Compiled(ChainJson(g_sizes.chain_length));
  std::vector<std::shared_ptr<MachineTask>> kept(g_sizes.chain_tasks);
  return Measure(executor, g_sizes.chain_tasks, ChainWork(), [&](int i) {
    return Interpreted(executor, program, nullptr, nullptr, &kept[i], observer);
  });
}

absl::StatusOr<Rates> ChainInterpretedObserved(Executor& executor) {
  return ChainObservedBy(executor, nullptr);
}

absl::StatusOr<Rates> ChainWithMetrics(Executor& executor) {
  static auto* metrics = new server::ServerMetrics();
  return ChainObservedBy(executor, metrics);
}

absl::StatusOr<Rates> LoopInterpreted(Executor& executor) {
  const std::shared_ptr<const Program>& program = Compiled(kLoopJson);
  google::protobuf::Map<std::string, v1::Value> inputs;
  inputs["n"].set_number(g_sizes.chain_length);
  return Measure(executor, g_sizes.chain_tasks, ChainWork(), [&](int) {
    return Interpreted(executor, program, nullptr, &inputs);
  });
}

// --- Google Benchmark glue ---

using Workload = absl::StatusOr<Rates> (*)(Executor&);

// Argument: workers. Runs `native` and `interpreted` alternately on one
// executor and reports the best round of each (counters named after
// `sides`) and their ratios, interpreted over native.
void RunRatio(benchmark::State& state, const std::string& unit, Workload native,
              Workload interpreted,
              const std::pair<std::string, std::string>& sides = {
                  "native", "interpreted"}) {
  auto executor =
      Executor::Create({.workers = static_cast<int>(state.range(0))});
  if (!executor.ok()) {
    state.SkipWithError(executor.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    Rates best[2];
    for (int round = 0; round <= kRounds; ++round) {  // round 0: warm-up
      for (int side = 0; side < 2; ++side) {
        absl::StatusOr<Rates> rates =
            (side == 0 ? native : interpreted)(**executor);
        if (!rates.ok()) {
          state.SkipWithError(rates.status().ToString().c_str());
          return;
        }
        if (round == 0) continue;
        best[side].wall = std::max(best[side].wall, rates->wall);
        best[side].cpu = std::max(best[side].cpu, rates->cpu);
      }
    }
    state.counters[sides.first + "_" + unit] = best[0].wall;
    state.counters[sides.second + "_" + unit] = best[1].wall;
    state.counters["ratio"] = best[1].wall / best[0].wall;
    state.counters["cpu_ratio"] = best[1].cpu / best[0].cpu;
  }
  (*executor)->Shutdown(ShutdownMode::kDrain);
}

void BM_HelloTasks(benchmark::State& state) {
  RunRatio(state, "tasks_per_s", HelloNative, HelloDetached);
}
void BM_HelloTasksObserved(benchmark::State& state) {
  RunRatio(state, "tasks_per_s", HelloNative, HelloObserved);
}
void BM_StateTransitions(benchmark::State& state) {
  RunRatio(state, "transitions_per_s", SelfWakeRaw, ChainInterpreted);
}
void BM_StateTransitionsObserved(benchmark::State& state) {
  RunRatio(state, "transitions_per_s", SelfWakeRaw, ChainInterpretedObserved);
}
void BM_StateTransitionsMetrics(benchmark::State& state) {
  RunRatio(state, "transitions_per_s", ChainInterpretedObserved,
           ChainWithMetrics, {"plain", "metrics"});
}
void BM_CountingLoop(benchmark::State& state) {
  RunRatio(state, "polls_per_s", SelfWakeRaw, LoopInterpreted);
}

void WorkerArgs(benchmark::internal::Benchmark* b) {
  b->ArgName("workers")->Arg(1)->Arg(2);
  b->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_HelloTasks)->Apply(WorkerArgs);
BENCHMARK(BM_HelloTasksObserved)->Apply(WorkerArgs);

BENCHMARK(BM_StateTransitions)->Apply(WorkerArgs);
BENCHMARK(BM_StateTransitionsObserved)->Apply(WorkerArgs);
BENCHMARK(BM_StateTransitionsMetrics)->Apply(WorkerArgs);
BENCHMARK(BM_CountingLoop)->Apply(WorkerArgs);

}  // namespace
}  // namespace corosched

int main(int argc, char** argv) {
  return corosched::bench::RunBenchmarkMain("machine_bench", argc, argv, [] {
    corosched::g_sizes = corosched::kQuickSizes;
  });
}
