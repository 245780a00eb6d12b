#pragma once

#include <string>

#include "core/executor.h"

namespace corosched::examples {

// The seed's Hello future: a three-state machine HELLO -> WORLD -> END that
// writes "Hello, " then "World!" and wakes itself between states with
// WakeByRef, so each state is one poll.
//
// `out` receives the text; it must outlive the future.
class HelloFuture {
 public:
  using Output = void;

  explicit HelloFuture(std::string* out) : out_(out) {}

  corosched::Poll<void> Poll(Context& cx) {
    switch (state_) {
      case State::kHello:
        *out_ += "Hello, ";
        state_ = State::kWorld;
        cx.waker().WakeByRef();
        return corosched::Poll<void>::Pending();
      case State::kWorld:
        *out_ += "World!";
        state_ = State::kEnd;
        cx.waker().WakeByRef();
        return corosched::Poll<void>::Pending();
      case State::kEnd:
        break;
    }
    return corosched::Poll<void>::Ready();
  }

 private:
  enum class State { kHello, kWorld, kEnd };

  std::string* out_;
  State state_ = State::kHello;
};

// Makes the running task wait for one turn of the run queue: wakes itself
// and returns Pending once (Tokio's `yield_now`).
class YieldNow {
 public:
  using Output = void;

  corosched::Poll<void> Poll(Context& cx) {
    if (yielded_) return corosched::Poll<void>::Ready();
    yielded_ = true;
    cx.waker().WakeByRef();
    return corosched::Poll<void>::Pending();
  }

 private:
  bool yielded_ = false;
};

// The same machine as a C++20 coroutine: each state boundary is a yield.
Co<void> HelloCoroutine(std::string* out);

}  // namespace corosched::examples
