#include "server/tasks/stream_hub.h"

#include <memory>

#include "gtest/gtest.h"

namespace corosched::server {
namespace {

class CountingStream final : public OpenStream {
 public:
  void OnTaskEvents() override { ++events; }
  void OnShutdown() override { ++shutdowns; }
  int events = 0;
  int shutdowns = 0;
};

TEST(StreamHubTest, PublishReachesOnlyTheTasksFollowers) {
  StreamHub hub;
  auto a = std::make_shared<CountingStream>();
  auto b = std::make_shared<CountingStream>();
  auto unrelated = std::make_shared<CountingStream>();
  ASSERT_TRUE(hub.Add("t1", a).has_value());
  ASSERT_TRUE(hub.Add("t1", b).has_value());
  ASSERT_TRUE(hub.Add("", unrelated).has_value());
  hub.Publish("t1");
  hub.Publish("t2");
  EXPECT_EQ(a->events, 1);
  EXPECT_EQ(b->events, 1);
  EXPECT_EQ(unrelated->events, 0);
}

TEST(StreamHubTest, RemovedAndDestroyedStreamsAreSkipped) {
  StreamHub hub;
  auto removed = std::make_shared<CountingStream>();
  auto kept = std::make_shared<CountingStream>();
  StreamHub::Token token = *hub.Add("t", removed);
  ASSERT_TRUE(hub.Add("t", kept).has_value());
  {
    auto gone = std::make_shared<CountingStream>();
    ASSERT_TRUE(hub.Add("t", gone).has_value());
  }  // destroyed without Remove: held weakly, so skipped
  hub.Remove(token);
  hub.Publish("t");
  EXPECT_EQ(removed->events, 0);
  EXPECT_EQ(kept->events, 1);
}

TEST(StreamHubTest, CloseAllShutsEveryStreamAndRefusesNewOnes) {
  StreamHub hub;
  auto follower = std::make_shared<CountingStream>();
  auto plain = std::make_shared<CountingStream>();
  ASSERT_TRUE(hub.Add("t", follower).has_value());
  ASSERT_TRUE(hub.Add("", plain).has_value());
  hub.CloseAll();
  EXPECT_EQ(follower->shutdowns, 1);
  EXPECT_EQ(plain->shutdowns, 1);
  auto late = std::make_shared<CountingStream>();
  EXPECT_FALSE(hub.Add("t", late).has_value());
}

}  // namespace
}  // namespace corosched::server
