#include "server/tasks/stream_hub.h"

#include <algorithm>
#include <utility>

namespace corosched::server {

std::optional<StreamHub::Token> StreamHub::Add(
    std::string task_id, std::weak_ptr<OpenStream> stream) {
  absl::MutexLock lock(&mu_);
  if (closed_) return std::nullopt;
  const Token token = next_token_++;
  if (!task_id.empty()) {
    followers_[task_id].push_back(token);
    any_followers_.store(true, std::memory_order_relaxed);
  }
  streams_.emplace(token, Entry{std::move(task_id), std::move(stream)});
  return token;
}

void StreamHub::Remove(Token token) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(token);
  if (it == streams_.end()) return;
  if (!it->second.task_id.empty()) {
    auto followers = followers_.find(it->second.task_id);
    std::vector<Token>& tokens = followers->second;
    tokens.erase(std::find(tokens.begin(), tokens.end(), token));
    if (tokens.empty()) followers_.erase(followers);
    any_followers_.store(!followers_.empty(), std::memory_order_relaxed);
  }
  streams_.erase(it);
}

void StreamHub::Publish(absl::string_view task_id) {
  if (!any_followers_.load(std::memory_order_relaxed)) return;
  std::vector<std::shared_ptr<OpenStream>> to_notify;
  {
    absl::MutexLock lock(&mu_);
    auto followers = followers_.find(task_id);
    if (followers == followers_.end()) return;
    for (Token token : followers->second) {
      if (auto stream = streams_.at(token).stream.lock()) {
        to_notify.push_back(std::move(stream));
      }
    }
  }
  for (const auto& stream : to_notify) stream->OnTaskEvents();
}

void StreamHub::CloseAll() {
  std::vector<std::shared_ptr<OpenStream>> to_close;
  {
    absl::MutexLock lock(&mu_);
    closed_ = true;
    for (auto& [token, entry] : streams_) {
      if (auto stream = entry.stream.lock()) to_close.push_back(stream);
    }
  }
  for (const auto& stream : to_close) stream->OnShutdown();
}

}  // namespace corosched::server
