#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/machine/program.h"
#include "corosched/v1/task_definition.pb.h"

namespace corosched::server {

// Compiled definitions, keyed by the definition's exact contents, so a
// definition submitted (or registered and started) many times is validated
// and compiled once. Bounded: past `capacity` entries an arbitrary one is
// dropped (tasks already running keep their Program alive).
//
// Thread-safety: every method from any thread. Compilation runs outside the
// lock; two threads may compile the same definition once each.
class ProgramCache {
 public:
  // Compiles with `limits` (every definition alike, so they are not part of
  // the key).
  explicit ProgramCache(size_t capacity = 1024,
                        const machine::MachineLimits& limits = {})
      : capacity_(capacity), limits_(limits) {}

  // Program::Compile(definition, limits), or the cached result of an earlier
  // call.
  // INVALID_ARGUMENT listing every problem for an invalid definition
  // (failures are not cached).
  absl::StatusOr<std::shared_ptr<const machine::Program>> Get(
      const v1::TaskDefinition& definition) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  const size_t capacity_;
  const machine::MachineLimits limits_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const machine::Program>>
      programs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace corosched::server
