#include "server/store/progress_joiner.h"

#include <utility>

namespace corosched::server {

std::optional<TaskProgress> ProgressJoiner::Queued::Take() {
  absl::MutexLock lock(&mu_);
  taken_ = true;
  return std::exchange(progress_, std::nullopt);
}

bool ProgressJoiner::Queued::Join(TaskProgress& progress, Done& done) {
  absl::MutexLock lock(&mu_);
  if (taken_) return false;
  if (!progress_.has_value()) {
    progress_ = std::move(progress);  // the first to join a create
  } else {
    TaskProgress& into = *progress_;
    into.snapshot = std::move(progress.snapshot);
    for (v1::TaskEvent& event : progress.events) {
      into.events.push_back(std::move(event));
    }
    if (progress.finished_at.has_value())
      into.finished_at = progress.finished_at;
  }
  if (done) dones_.push_back(std::move(done));
  return true;
}

std::shared_ptr<ProgressJoiner::Queued> ProgressJoiner::AddProgress(
    const std::string& id, TaskProgress progress, Done done) {
  absl::MutexLock lock(&mu_);
  if (!progress.durable) {  // rule 2
    auto it = joinable_.find(id);
    if (it != joinable_.end() && it->second->Join(progress, done)) {
      return nullptr;
    }
  }
  auto queued = std::make_shared<Queued>();
  {
    absl::MutexLock fill(&queued->mu_);
    queued->progress_ = std::move(progress);
    if (done) queued->dones_.push_back(std::move(done));
  }
  joinable_.insert_or_assign(id, queued);
  return queued;
}

std::shared_ptr<ProgressJoiner::Queued> ProgressJoiner::AddCreate(
    const std::string& id) {
  auto queued = std::make_shared<Queued>();
  absl::MutexLock lock(&mu_);
  joinable_.insert_or_assign(id, queued);
  return queued;
}

void ProgressJoiner::EndJoining(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  joinable_.erase(id);
}

std::vector<ProgressJoiner::Done> ProgressJoiner::Finish(const std::string& id,
                                                         Queued& queued) {
  {
    absl::MutexLock lock(&mu_);
    auto it = joinable_.find(id);
    if (it != joinable_.end() && it->second.get() == &queued) {
      joinable_.erase(it);
    }
  }
  std::vector<Done> dones;
  absl::MutexLock lock(&queued.mu_);
  queued.taken_ = true;  // a batch that failed never took it
  dones.swap(queued.dones_);
  return dones;
}

void ProgressJoiner::Answer(const std::string& id, Queued& queued,
                            const absl::StatusOr<uint64_t>& answer) {
  for (Done& done : Finish(id, queued)) done(answer);
}

}  // namespace corosched::server
