#pragma once

#include <cstdio>
#include <cstring>

#include "absl/functional/function_ref.h"
#include "bench/cpu_time.h"  // ProcessCpuSeconds, for every benchmark here
#include "benchmark/benchmark.h"

namespace corosched::bench {

// The seed's HELLO -> WORLD -> END machine, as examples/hello.json has it.
inline constexpr const char* kHelloJson =
    R"({"name": "hello", "initial": "HELLO", "states": {
  "HELLO": {"emit": "Hello, ",  "yield": {"next": "WORLD"}},
  "WORLD": {"emit": "World!\n", "yield": {"next": "END"}},
  "END":   {"complete": {}}}})";

// The main() every benchmark binary here shares: Google Benchmark's flags,
// plus --quick, which calls `use_quick_sizes` (a smoke test, not a
// measurement). Any other flag is a usage error (exit 2).
inline int RunBenchmarkMain(const char* program, int argc, char** argv,
                            absl::FunctionRef<void()> use_quick_sizes) {
  benchmark::Initialize(&argc, argv);
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      use_quick_sizes();
    } else {
      std::fprintf(stderr, "%s: unknown flag %s\n", program, argv[i]);
      return 2;
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

}  // namespace corosched::bench
