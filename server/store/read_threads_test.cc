#include "server/store/read_threads.h"

#include <atomic>
#include <memory>
#include <thread>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace corosched::server {
namespace {

TEST(ReadThreadsTest, RunsReadsOffTheCallersThreadWhileItGoesOn) {
  ReadThreads threads(2);
  absl::Notification release;
  absl::Notification ran;
  std::thread::id ran_on;
  threads.Run([&] {
    release.WaitForNotification();  // a slow read
    ran_on = std::this_thread::get_id();
    ran.Notify();
  });
  release.Notify();  // reached only because Run returned before the read
  ASSERT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(20)));
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(ReadThreadsTest, ClosingRunsEveryQueuedReadAndTheReadsTheyQueue) {
  std::atomic<int> ran{0};
  absl::Notification started;
  absl::Notification release;
  {
    ReadThreads threads(1);
    threads.Run([&] {  // holds the only thread while the rest queue
      started.Notify();
      release.WaitForNotification();
      ran.fetch_add(1);
    });
    started.WaitForNotification();
    for (int i = 0; i < 10; ++i) {
      threads.Run([&] {
        ran.fetch_add(1);
        threads.Run([&] { ran.fetch_add(1); });  // a callback's own read
      });
    }
    release.Notify();
  }  // destroyed with reads still queued
  EXPECT_EQ(ran.load(), 21);
}

}  // namespace
}  // namespace corosched::server
