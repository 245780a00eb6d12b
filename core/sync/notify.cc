#include "core/sync/notify.h"

#include <utility>
#include <vector>

namespace corosched {

void Notify::Link(Waiter* waiter) {
  waiter->prev = tail_;
  waiter->next = nullptr;
  if (tail_ != nullptr) {
    tail_->next = waiter;
  } else {
    head_ = waiter;
  }
  tail_ = waiter;
}

void Notify::Unlink(Waiter* waiter) {
  (waiter->prev != nullptr ? waiter->prev->next : head_) = waiter->next;
  (waiter->next != nullptr ? waiter->next->prev : tail_) = waiter->prev;
  waiter->prev = waiter->next = nullptr;
}

Waker Notify::NotifyOneLocked() {
  Waiter* waiter = head_;
  if (waiter == nullptr) {
    permit_ = true;
    return Waker();
  }
  Unlink(waiter);
  waiter->woken = Woken::kByOne;
  return std::move(waiter->waker);
}

void Notify::NotifyOne() {
  Waker waker;
  {
    absl::MutexLock lock(&mu_);
    waker = NotifyOneLocked();
  }
  std::move(waker).Wake();
}

void Notify::NotifyAll() {
  std::vector<Waker> wakers;
  {
    absl::MutexLock lock(&mu_);
    while (Waiter* waiter = head_) {
      Unlink(waiter);
      waiter->woken = Woken::kByAll;
      wakers.push_back(std::move(waiter->waker));
    }
  }
  for (Waker& waker : wakers) std::move(waker).Wake();
}

Notify::Notified Notify::Wait() { return Notified(this); }

Notify::Notified::Notified(Notified&& other) noexcept
    : notify_(std::exchange(other.notify_, nullptr)), done_(other.done_) {
  if (notify_ == nullptr || !other.registered_) return;
  absl::MutexLock lock(&notify_->mu_);
  registered_ = true;
  other.registered_ = false;
  waiter_.waker = std::move(other.waiter_.waker);
  waiter_.woken = other.waiter_.woken;
  if (waiter_.woken != Woken::kNo) return;  // unlinked already
  waiter_.prev = std::exchange(other.waiter_.prev, nullptr);
  waiter_.next = std::exchange(other.waiter_.next, nullptr);
  (waiter_.prev != nullptr ? waiter_.prev->next : notify_->head_) = &waiter_;
  (waiter_.next != nullptr ? waiter_.next->prev : notify_->tail_) = &waiter_;
}

corosched::Poll<void> Notify::Notified::Poll(Context& cx) {
  absl::MutexLock lock(&notify_->mu_);
  if (!registered_) {
    if (std::exchange(notify_->permit_, false)) {
      done_ = true;
      return corosched::Poll<void>::Ready();
    }
    registered_ = true;
    waiter_.waker = cx.waker();
    notify_->Link(&waiter_);
    return corosched::Poll<void>::Pending();
  }
  if (waiter_.woken != Woken::kNo) {
    done_ = true;
    return corosched::Poll<void>::Ready();
  }
  if (!waiter_.waker.WillWake(cx.waker())) waiter_.waker = cx.waker();
  return corosched::Poll<void>::Pending();
}

Notify::Notified::~Notified() {
  if (notify_ == nullptr || !registered_) return;
  Waker pass_on;
  {
    absl::MutexLock lock(&notify_->mu_);
    if (waiter_.woken == Woken::kNo) {
      notify_->Unlink(&waiter_);
    } else if (waiter_.woken == Woken::kByOne && !done_) {
      // Chosen but never observed: hand the notification on.
      pass_on = notify_->NotifyOneLocked();
    }
  }
  std::move(pass_on).Wake();
}

}  // namespace corosched
