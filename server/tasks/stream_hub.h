#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"

namespace corosched::server {

// A server stream the daemon keeps open (WatchTask, SubmitTasks): told when
// the task it follows has new events, and told to close at shutdown.
//
// Both calls come from arbitrary threads (an executor worker, the drain
// thread), possibly concurrently with the stream's own gRPC reactions; they
// must not block.
class OpenStream {
 public:
  virtual ~OpenStream() = default;
  // New events were recorded for the followed task; read them from the
  // store.
  virtual void OnTaskEvents() = 0;
  // The daemon is stopping: finish with UNAVAILABLE as soon as no write is
  // in flight.
  virtual void OnShutdown() = 0;
};

// The open streams, by the task each follows. Publish is called after every
// recorded task change, so it costs one atomic load when no stream follows
// any task.
//
// Ordering that makes a watcher miss nothing: the watcher calls Add, then
// reads the store; the runner writes the store, then calls Publish. Either
// the watcher's read sees the write, or the write's Publish sees the
// watcher (the store's mutex orders the two).
//
// Streams are held by weak_ptr: a stream that is gone is skipped; one that
// is being torn down may still be called, and must ignore the call once it
// has finished.
//
// Thread-safety: every method from any thread.
class StreamHub {
 public:
  using Token = uint64_t;

  // Registers `stream`, following `task_id` (empty: no task). nullopt once
  // CloseAll ran: the caller finishes the stream itself with UNAVAILABLE.
  std::optional<Token> Add(std::string task_id,
                           std::weak_ptr<OpenStream> stream)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Remove(Token token) ABSL_LOCKS_EXCLUDED(mu_);

  // Calls OnTaskEvents on every stream following `task_id`, outside mu_.
  void Publish(absl::string_view task_id) ABSL_LOCKS_EXCLUDED(mu_);

  // Calls OnShutdown on every stream, outside mu_; later Adds fail.
  void CloseAll() ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    std::string task_id;
    std::weak_ptr<OpenStream> stream;
  };

  absl::Mutex mu_;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  Token next_token_ ABSL_GUARDED_BY(mu_) = 1;
  absl::flat_hash_map<Token, Entry> streams_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<Token>> followers_
      ABSL_GUARDED_BY(mu_);
  // Whether followers_ is non-empty. Written under mu_; Publish reads it
  // without mu_. Relaxed is enough: the happens-before that makes Publish
  // see a new follower comes from the store's mutex (see above), and a
  // stale `true` only costs a lookup.
  std::atomic<bool> any_followers_{false};
};

}  // namespace corosched::server
