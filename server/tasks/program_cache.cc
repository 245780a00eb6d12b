#include "server/tasks/program_cache.h"

#include <utility>

#include "server/store/store_keys.h"

namespace corosched::server {

absl::StatusOr<std::shared_ptr<const machine::Program>> ProgramCache::Get(
    const v1::TaskDefinition& definition) {
  std::string key = DeterministicBytes(definition);
  {
    absl::MutexLock lock(&mu_);
    auto it = programs_.find(key);
    if (it != programs_.end()) return it->second;
  }
  absl::StatusOr<std::shared_ptr<const machine::Program>> program =
      machine::Program::Compile(definition, limits_);
  if (!program.ok()) return program.status();
  absl::MutexLock lock(&mu_);
  if (programs_.size() >= capacity_) programs_.erase(programs_.begin());
  programs_.emplace(std::move(key), *program);
  return program;
}

}  // namespace corosched::server
