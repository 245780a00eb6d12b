// Stress test of Notify on a running executor, run under ThreadSanitizer by
// `make test`: waiters that move their registered Notified between polls
// while a plain thread notifies. Counts exactly, so a lost notification (a
// hang, caught by the deadline) or one delivered twice fails it.

#include <atomic>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "core/executor.h"
#include "core/sync/notify.h"
#include "gtest/gtest.h"

namespace corosched {
namespace {

// Awaits `notify` forever, counting each notification it observes. Between
// polls it moves its pending Notified to the other of two slots, so the
// waiter node the Notify links to changes address while it is queued.
class HoppingWaiter {
 public:
  using Output = void;
  HoppingWaiter(Notify* notify, std::atomic<int>* observed)
      : notify_(notify), observed_(observed) {}
  HoppingWaiter(HoppingWaiter&&) noexcept = default;

  corosched::Poll<void> Poll(Context& cx) {
    for (;;) {
      std::optional<Notify::Notified>& from = slots_[current_];
      if (!from.has_value()) from.emplace(notify_->Wait());
      if (from->Poll(cx).IsReady()) {
        from.reset();
        observed_->fetch_add(1);
        continue;  // await the next one at once
      }
      const int to = 1 - current_;
      slots_[to].emplace(std::move(*from));
      from.reset();
      current_ = to;
      return corosched::Poll<void>::Pending();
    }
  }

 private:
  Notify* notify_;
  std::atomic<int>* observed_;
  std::optional<Notify::Notified> slots_[2];
  int current_ = 0;
};

TEST(NotifyStressTest, MovedWaitersObserveEveryNotificationExactlyOnce) {
  constexpr int kWaiters = 4;
  constexpr int kNotifications = 20000;
  std::unique_ptr<Executor> executor = *Executor::Create({.workers = 2});
  Notify notify;
  std::atomic<int> observed{0};
  std::vector<JoinHandle<void>> handles;
  for (int i = 0; i < kWaiters; ++i) {
    auto handle = executor->Spawn(HoppingWaiter(&notify, &observed));
    ASSERT_TRUE(handle.ok());
    handles.push_back(*std::move(handle));
  }
  // One notifier, and each notification observed before the next is sent:
  // with no waiter queued it is a permit, taken by the next Wait(), so
  // every one is observed exactly once whatever the interleaving.
  const absl::Time give_up = absl::Now() + absl::Seconds(60);
  for (int sent = 1; sent <= kNotifications; ++sent) {
    notify.NotifyOne();
    while (observed.load() < sent) {
      ASSERT_LT(absl::Now(), give_up) << "notification " << sent << " lost";
      std::this_thread::yield();
    }
    ASSERT_EQ(observed.load(), sent) << "a notification was observed twice";
  }
  for (JoinHandle<void>& handle : handles) handle.Cancel();
  for (JoinHandle<void>& handle : handles) {
    EXPECT_TRUE(absl::IsCancelled(std::move(handle).Wait()));
  }
  EXPECT_EQ(observed.load(), kNotifications);
}

}  // namespace
}  // namespace corosched
