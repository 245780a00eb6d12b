#pragma once

#include <concepts>
#include <type_traits>

#include "core/task/poll.h"
#include "core/task/waker.h"

namespace corosched {

// A future is a value that makes progress each time it is polled and ends in
// an Output (the seed's `Future` trait). Poll must not block: when it cannot
// finish it registers cx.waker() and returns Pending.
//
// A future is polled by one thread at a time and not polled again after it
// returned Ready. It may be moved before its first poll; whether it may be
// moved after is up to the type (the futures in core/ may).
template <typename F>
concept Future = std::is_move_constructible_v<F> &&
    requires(F& f, Context& cx) {
  typename F::Output;
  { f.Poll(cx) } -> std::same_as<Poll<typename F::Output>>;
};

}  // namespace corosched
