#pragma once

#include <cassert>
#include <optional>
#include <utility>

namespace corosched {

// The result of polling a future: either Ready with the future's output, or
// Pending, meaning the future has arranged for the waker in its Context to be
// woken when it can make progress (the seed's `Poll<T>`).
//
// Thread-safety: a plain value; no internal synchronisation.
template <typename T>
class Poll {
 public:
  static Poll Pending() { return Poll(); }
  static Poll Ready(T value) { return Poll(std::move(value)); }

  bool IsReady() const { return value_.has_value(); }
  bool IsPending() const { return !value_.has_value(); }

  // REQUIRES: IsReady().
  T& value() & {
    assert(IsReady());
    return *value_;
  }
  T&& value() && {
    assert(IsReady());
    return std::move(*value_);
  }

 private:
  Poll() = default;
  explicit Poll(T value) : value_(std::move(value)) {}

  std::optional<T> value_;
};

// A future with no output is Ready or Pending and nothing more.
template <>
class Poll<void> {
 public:
  static Poll Pending() { return Poll(false); }
  static Poll Ready() { return Poll(true); }

  bool IsReady() const { return ready_; }
  bool IsPending() const { return !ready_; }

 private:
  explicit Poll(bool ready) : ready_(ready) {}

  bool ready_;
};

}  // namespace corosched
