// Runs the seed's example on the executor: prints "Hello, World!" twice,
// once from the hand-written future and once from the coroutine.

#include <cstdio>
#include <string>

#include "core/examples/hello.h"
#include "core/executor.h"

namespace {

template <typename F>
int RunAndPrint(corosched::Executor& executor, F future, std::string* out) {
  auto handle = executor.Spawn(std::move(future));
  if (!handle.ok()) {
    std::fprintf(stderr, "spawn failed: %s\n",
                 handle.status().ToString().c_str());
    return 1;
  }
  if (absl::Status done = std::move(*handle).Wait(); !done.ok()) {
    std::fprintf(stderr, "task failed: %s\n", done.ToString().c_str());
    return 1;
  }
  std::printf("%s\n", out->c_str());
  return 0;
}

}  // namespace

int main() {
  auto executor = corosched::Executor::Create({.workers = 2});
  if (!executor.ok()) {
    std::fprintf(stderr, "%s\n", executor.status().ToString().c_str());
    return 1;
  }
  std::string future_out;
  std::string coroutine_out;
  int rc = RunAndPrint(
      **executor, corosched::examples::HelloFuture(&future_out), &future_out);
  if (rc == 0) {
    rc = RunAndPrint(**executor,
                     corosched::examples::HelloCoroutine(&coroutine_out),
                     &coroutine_out);
  }
  (*executor)->Shutdown(corosched::ShutdownMode::kDrain);
  return rc;
}
