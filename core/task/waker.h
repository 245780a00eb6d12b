#pragma once

#include <cassert>
#include <utility>

namespace corosched {

// The functions behind a Waker, in the style of Rust's RawWakerVTable. Each
// takes the opaque `data` pointer the Waker was made with. `wake` consumes
// the reference the Waker held; `wake_by_ref` and `clone` do not; `drop`
// releases it.
struct WakerVTable {
  void (*clone)(const void* data);
  void (*wake)(const void* data);
  void (*wake_by_ref)(const void* data);
  void (*drop)(const void* data);
};

// A handle that puts a suspended task (or a blocked thread) back in line to
// be polled. Copying a Waker takes another reference to what it wakes, so the
// target stays alive while any Waker refers to it.
//
// Waking is idempotent until the target is polled again: many wakes before a
// poll cause one poll. Waking a task that has finished does nothing. A
// default-constructed Waker wakes nothing.
//
// Thread-safety: a Waker may be copied, woken and destroyed from any thread.
// One Waker object must not be mutated (assigned, moved from) concurrently.
class Waker {
 public:
  Waker() = default;

  // Adopts one reference to `data`, released by the Waker's destructor.
  static Waker FromRaw(const WakerVTable* vtable, const void* data) {
    return Waker(vtable, data);
  }

  Waker(const Waker& other) : vtable_(other.vtable_), data_(other.data_) {
    if (vtable_ != nullptr) vtable_->clone(data_);
  }
  Waker(Waker&& other) noexcept
      : vtable_(std::exchange(other.vtable_, nullptr)), data_(other.data_) {}
  Waker& operator=(Waker other) noexcept {
    std::swap(vtable_, other.vtable_);
    std::swap(data_, other.data_);
    return *this;
  }
  ~Waker() {
    if (vtable_ != nullptr) vtable_->drop(data_);
  }

  // Wakes the target, consuming this Waker.
  void Wake() && {
    const WakerVTable* vtable = std::exchange(vtable_, nullptr);
    if (vtable != nullptr) vtable->wake(data_);
  }

  // Wakes the target and keeps this Waker usable.
  void WakeByRef() const {
    if (vtable_ != nullptr) vtable_->wake_by_ref(data_);
  }

  // True when both wake the same target, so replacing one with the other can
  // be skipped.
  bool WillWake(const Waker& other) const {
    return vtable_ == other.vtable_ && data_ == other.data_;
  }

  bool empty() const { return vtable_ == nullptr; }

 private:
  Waker(const WakerVTable* vtable, const void* data)
      : vtable_(vtable), data_(data) {}

  const WakerVTable* vtable_ = nullptr;
  const void* data_ = nullptr;
};

// What a future's Poll receives: the Waker of the task being polled. A future
// that returns Pending must have stored a copy of (or registered) this Waker
// with whatever will make it ready.
class Context {
 public:
  explicit Context(const Waker& waker) : waker_(waker) {}
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const Waker& waker() const { return waker_; }

 private:
  const Waker& waker_;
};

}  // namespace corosched
