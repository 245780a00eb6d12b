#include "server/store/postgres_listener.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace corosched::server {

PgListener::PgListener(std::string url, absl::Duration connect_timeout,
                       absl::AnyInvocable<void(const std::string&)> on_message)
    : url_(std::move(url)),
      connect_timeout_(connect_timeout),
      on_message_(std::move(on_message)) {
  thread_ = std::thread([this] { Run(); });
}

PgListener::~PgListener() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    changed_.Signal();
  }
  thread_.join();
}

void PgListener::Listen(std::string channel) {
  absl::MutexLock lock(&mu_);
  channel_ = std::move(channel);
  changed_.Signal();
}

void PgListener::Run() {
  for (;;) {
    std::string channel;
    {
      absl::MutexLock lock(&mu_);
      // Idle (no channel) or reconnecting: wait for a new channel, stop, or
      // the next look.
      if (!stop_ && channel_ == listening_ &&
          (channel_.empty() || connection_ == nullptr ||
           connection_->broken())) {
        changed_.WaitWithTimeout(&mu_, channel_.empty()
                                           ? absl::Milliseconds(500)
                                           : absl::Milliseconds(20));
      }
      if (stop_) return;
      channel = channel_;
    }
    if (channel.empty()) {
      if (!listening_.empty() && connection_ != nullptr) {
        (void)connection_->Exec("UNLISTEN *");
      }
      listening_.clear();
      continue;
    }
    if (!Establish(channel)) continue;
    Receive();
  }
}

bool PgListener::Establish(const std::string& channel) {
  const bool lost = connection_ == nullptr || connection_->broken();
  if (!lost && listening_ == channel) return true;
  if (lost) {
    if (absl::Now() < next_attempt_) return false;
    absl::Status connected = absl::OkStatus();
    if (connection_ == nullptr) {
      auto made = PgConnection::Connect(url_, connect_timeout_);
      connected = made.status();
      if (made.ok()) connection_ = *std::move(made);
    } else {
      connected = connection_->Reset();
    }
    if (!connected.ok()) {
      next_attempt_ = absl::Now() + backoff_;
      backoff_ = std::min(backoff_ * 2, absl::Seconds(5));
      return false;
    }
    backoff_ = absl::Milliseconds(100);
    listening_.clear();
  }
  // The channel is a fixed prefix and a hex id: nothing to escape.
  const std::string listen =
      absl::StrCat("UNLISTEN *; LISTEN \"", channel, "\"");
  if (!connection_->Exec(listen.c_str()).ok()) return false;
  listening_ = channel;
  on_message_("");  // whatever was sent while we were not listening
  return true;
}

void PgListener::Receive() {
  pollfd socket{.fd = connection_->socket(), .events = POLLIN, .revents = 0};
  if (socket.fd < 0) return;
  if (poll(&socket, 1, /*timeout_ms=*/100) <= 0) return;
  PGconn* conn = connection_->raw();
  if (PQconsumeInput(conn) == 0) return;  // lost: broken() says so
  while (PGnotify* notification = PQnotifies(conn)) {
    const std::string task_id =
        notification->extra == nullptr ? "" : notification->extra;
    const bool ours = listening_ == notification->relname;
    PQfreemem(notification);
    if (ours && !task_id.empty()) on_message_(task_id);
  }
}

}  // namespace corosched::server
