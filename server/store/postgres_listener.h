#pragma once

// The thread that LISTENs on this daemon's inbox channel (cluster_store.h,
// on_inbox, on_handover) over a connection of its own: each notification's
// payload (postgres_writes.h, PgInboxChannel) is handed to `on_message`, and ""
// after every (re)connect, since notifications sent while it was away are lost.
// A lost connection is re-established with back-off (100 ms doubling to 5 s).
//
// Thread-safety: Listen from any thread; `on_message` runs on the listener's
// thread.

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/store/postgres_connection.h"

namespace corosched::server {

class PgListener {
 public:
  PgListener(std::string url, absl::Duration connect_timeout,
             absl::AnyInvocable<void(const std::string&)> on_message);
  // Stops listening and joins the thread.
  ~PgListener();
  PgListener(const PgListener&) = delete;
  PgListener& operator=(const PgListener&) = delete;

  // Listens on `channel` from now on, instead of the one before (empty:
  // none).
  void Listen(std::string channel) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);
  // Connects (or reconnects) and LISTENs on `channel`; false while it
  // cannot.
  bool Establish(const std::string& channel);
  // Waits up to 100 ms for notifications and hands them over.
  void Receive();

  const std::string url_;
  const absl::Duration connect_timeout_;
  absl::AnyInvocable<void(const std::string&)> on_message_;

  // Listener thread only.
  std::unique_ptr<PgConnection> connection_;
  std::string listening_;
  absl::Time next_attempt_ = absl::InfinitePast();
  absl::Duration backoff_ = absl::Milliseconds(100);

  absl::Mutex mu_;
  std::string channel_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::CondVar changed_;
  std::thread thread_;  // last: starts once everything above is set
};

}  // namespace corosched::server
