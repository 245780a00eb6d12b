#include "server/store/read_threads.h"

#include <utility>

namespace corosched::server {

ReadThreads::ReadThreads(int threads) {
  {
    absl::MutexLock lock(&mu_);
    running_ = threads;
  }
  threads_.reserve(threads);
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

ReadThreads::~ReadThreads() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& thread : threads_) thread.join();
}

void ReadThreads::Run(Read read) {
  {
    absl::MutexLock lock(&mu_);
    if (running_ > 0) {
      queue_.push_back(std::move(read));
      return;
    }
  }
  std::move(read)();  // every thread has exited: the store is closing
}

void ReadThreads::Loop() {
  auto has_work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || stopping_;
  };
  for (;;) {
    Read read;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(&has_work));
      if (queue_.empty()) {  // stopping, and nothing is left
        --running_;
        return;
      }
      read = std::move(queue_.front());
      queue_.pop_front();
    }
    std::move(read)();
  }
}

}  // namespace corosched::server
