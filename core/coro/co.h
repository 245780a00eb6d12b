#pragma once

#include <coroutine>
#include <cstdlib>
#include <optional>
#include <type_traits>
#include <utility>

#include "core/task/future.h"

namespace corosched {

namespace internal {

// What a suspended coroutine is waiting for: the awaiter to poll again
// before the coroutine may resume.
struct PendingAwait {
  void* awaiter = nullptr;
  bool (*poll)(void* awaiter, Context& cx) = nullptr;
};

// Shared by Co<T> and Co<void> promises.
class PromiseBase {
 public:
  std::suspend_always initial_suspend() noexcept { return {}; }
  std::suspend_always final_suspend() noexcept { return {}; }
  // Our code throws nothing; a future that throws is a bug, and stops the
  // process rather than leaving a task half-run.
  void unhandled_exception() noexcept { std::abort(); }

  template <typename F>
  requires Future<std::remove_cvref_t<F>>
  auto await_transform(F&& future);

  Context* cx = nullptr;
  PendingAwait pending;
};

// `co_await future` inside a Co: polls the future with the task's Context;
// when it is Pending the coroutine suspends, and the next poll of the Co
// polls this future again before resuming the coroutine.
template <typename F>
class FutureAwaiter {
 public:
  using Output = typename std::remove_reference_t<F>::Output;

  FutureAwaiter(F&& future, PromiseBase* promise)
      : future_(std::forward<F>(future)), promise_(promise) {}

  bool await_ready() { return PollOnce(*promise_->cx); }
  void await_suspend(std::coroutine_handle<>) {
    promise_->pending = {this, &FutureAwaiter::Repoll};
  }
  Output await_resume() {
    if constexpr (!std::is_void_v<Output>) return std::move(*result_);
  }

 private:
  bool PollOnce(Context& cx) {
    auto poll = future_.Poll(cx);
    if (poll.IsPending()) return false;
    if constexpr (!std::is_void_v<Output>)
      result_.emplace(std::move(poll).value());
    return true;
  }
  static bool Repoll(void* self, Context& cx) {
    return static_cast<FutureAwaiter*>(self)->PollOnce(cx);
  }

  // An lvalue future is awaited in place; an rvalue is kept here.
  F future_;
  PromiseBase* promise_;
  std::conditional_t<std::is_void_v<Output>, bool, std::optional<Output>>
      result_{};
};

template <typename F>
requires Future<std::remove_cvref_t<F>>
auto PromiseBase::await_transform(F&& future) {
  // F is `X&` for an lvalue (awaited in place) or `X` for an rvalue (kept
  // in the awaiter, in the coroutine frame).
  return FutureAwaiter<F>(std::forward<F>(future), this);
}

// Owns a coroutine frame and drives it: the part Co<T> and Co<void> share.
template <typename Promise>
class CoFrame {
 public:
  explicit CoFrame(std::coroutine_handle<Promise> handle) : handle_(handle) {}
  CoFrame(CoFrame&& other) noexcept
      : handle_(std::exchange(other.handle_, {})) {}
  CoFrame& operator=(CoFrame&& other) noexcept {
    if (this != &other) {
      Destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  ~CoFrame() { Destroy(); }

  Promise& promise() { return handle_.promise(); }

  // Resumes the body unless what it awaits is still pending; true when the
  // body has finished.
  bool Step(Context& cx) {
    Promise& p = handle_.promise();
    p.cx = &cx;
    if (p.pending.poll != nullptr) {
      if (!p.pending.poll(p.pending.awaiter, cx)) return false;
      p.pending = {};
    }
    handle_.resume();
    return handle_.done();
  }

 private:
  void Destroy() {
    if (handle_) std::exchange(handle_, {}).destroy();
  }

  std::coroutine_handle<Promise> handle_;
};

}  // namespace internal

// A C++20 coroutine that is a Future: write a task as straight-line code and
// `co_await` any Future in it (a Sleep, a JoinHandle, a OneShot receiver, a
// Notify, another Co).
//
//   Co<void> HelloCoroutine(std::string& out, Executor& executor) {
//     out += "Hello, ";
//     co_await executor.SleepFor(absl::Milliseconds(1));
//     out += "World!";
//   }
//
// Lazy: nothing runs until the first poll. The frame is freed exactly once:
// when the Co is destroyed, whether the body finished (completion) or not
// (cancellation drops the Co, destroying the frame and, with it, every
// local, including futures it was awaiting).
//
// Thread-safety: a single-owner future; it may be polled from a different
// thread each time, as tasks migrate between workers.
template <typename T>
class Co {
 public:
  using Output = T;

  class promise_type : public internal::PromiseBase {
   public:
    Co get_return_object() {
      return Co(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    void return_value(T result) { value.emplace(std::move(result)); }
    std::optional<T> value;
  };

  corosched::Poll<T> Poll(Context& cx) {
    if (!frame_.Step(cx)) return corosched::Poll<T>::Pending();
    return corosched::Poll<T>::Ready(std::move(*frame_.promise().value));
  }

 private:
  explicit Co(std::coroutine_handle<promise_type> handle) : frame_(handle) {}

  internal::CoFrame<promise_type> frame_;
};

template <>
class Co<void> {
 public:
  using Output = void;

  class promise_type : public internal::PromiseBase {
   public:
    Co get_return_object() {
      return Co(std::coroutine_handle<promise_type>::from_promise(*this));
    }
    void return_void() {}
  };

  corosched::Poll<void> Poll(Context& cx) {
    return frame_.Step(cx) ? corosched::Poll<void>::Ready()
                           : corosched::Poll<void>::Pending();
  }

 private:
  explicit Co(std::coroutine_handle<promise_type> handle) : frame_(handle) {}

  internal::CoFrame<promise_type> frame_;
};

}  // namespace corosched
