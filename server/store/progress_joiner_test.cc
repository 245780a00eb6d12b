#include "server/store/progress_joiner.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::server {
namespace {

using ::testing::ElementsAre;

TaskProgress Poll(const std::string& state, const std::string& output) {
  TaskProgress progress;
  progress.snapshot.set_state(state);
  progress.events.emplace_back().mutable_output()->set_text(output);
  return progress;
}

std::vector<std::string> Outputs(const TaskProgress& progress) {
  std::vector<std::string> texts;
  for (const v1::TaskEvent& event : progress.events) {
    texts.push_back(event.output().text());
  }
  return texts;
}

// Answers into `answers`, in the order they come.
ProgressJoiner::Done Into(std::vector<uint64_t>& answers) {
  return [&answers](const absl::StatusOr<uint64_t>& last) {
    answers.push_back(last.value_or(0));
  };
}

TEST(ProgressJoinerTest, ProgressJoinsItsTasksQueuedWriteUntilTaken) {
  ProgressJoiner joiner;
  std::vector<uint64_t> answers;
  auto queued = joiner.AddProgress("t", Poll("A", "a"), Into(answers));
  ASSERT_NE(queued, nullptr);
  EXPECT_EQ(joiner.AddProgress("t", Poll("B", "b"), Into(answers)), nullptr);
  TaskProgress ended = Poll("END", "c");
  ended.finished_at = absl::UnixEpoch();
  EXPECT_EQ(joiner.AddProgress("t", std::move(ended), Into(answers)), nullptr);

  std::optional<TaskProgress> taken = queued->Take();
  ASSERT_TRUE(taken.has_value());
  EXPECT_EQ(taken->snapshot.state(), "END");  // the latest snapshot
  EXPECT_THAT(Outputs(*taken), ElementsAre("a", "b", "c"));
  EXPECT_EQ(taken->finished_at, absl::UnixEpoch());
  // Taken: the next progress is a write of its own.
  EXPECT_NE(joiner.AddProgress("t", Poll("C", "d"), nullptr), nullptr);
  joiner.Answer("t", *queued, 7);
  EXPECT_THAT(answers, ElementsAre(7u, 7u, 7u));  // every part of the write
}

TEST(ProgressJoinerTest, AnotherWriteOfTheTaskEndsTheJoining) {
  ProgressJoiner joiner;
  auto before = joiner.AddProgress("t", Poll("A", "a"), nullptr);
  joiner.EndJoining("t");  // a wake is queued
  auto after = joiner.AddProgress("t", Poll("B", "b"), nullptr);
  ASSERT_NE(after, nullptr);
  EXPECT_THAT(Outputs(*before->Take()), ElementsAre("a"));
  EXPECT_THAT(Outputs(*after->Take()), ElementsAre("b"));
}

TEST(ProgressJoinerTest, DurableProgressJoinsNothingButIsJoined) {
  ProgressJoiner joiner;
  auto unsynced = joiner.AddProgress("t", Poll("A", "a"), nullptr);
  TaskProgress durable = Poll("B", "b");
  durable.durable = true;
  auto synced = joiner.AddProgress("t", std::move(durable), nullptr);
  ASSERT_NE(synced, nullptr);
  EXPECT_EQ(joiner.AddProgress("t", Poll("C", "c"), nullptr), nullptr);
  EXPECT_THAT(Outputs(*unsynced->Take()), ElementsAre("a"));
  std::optional<TaskProgress> joint = synced->Take();
  EXPECT_TRUE(joint->durable);
  EXPECT_THAT(Outputs(*joint), ElementsAre("b", "c"));
}

TEST(ProgressJoinerTest, ACreateTakesWhatJoinedItOrNothing) {
  ProgressJoiner joiner;
  auto alone = joiner.AddCreate("a");
  EXPECT_FALSE(alone->Take().has_value());

  std::vector<uint64_t> answers;
  auto joined = joiner.AddCreate("b");
  EXPECT_EQ(joiner.AddProgress("b", Poll("B", "b"), Into(answers)), nullptr);
  std::optional<TaskProgress> taken = joined->Take();
  ASSERT_TRUE(taken.has_value());
  EXPECT_THAT(Outputs(*taken), ElementsAre("b"));
  // The store answers the create itself; Finish hands over the rest.
  std::vector<ProgressJoiner::Done> dones = joiner.Finish("b", *joined);
  ASSERT_EQ(dones.size(), 1u);
  dones[0](absl::AlreadyExistsError("refused with the create"));
  EXPECT_THAT(answers, ElementsAre(0u));
}

TEST(ProgressJoinerTest, AFinishedWriteIsJoinedNoMoreEvenUntaken) {
  ProgressJoiner joiner;
  std::vector<uint64_t> answers;
  auto queued = joiner.AddProgress("t", Poll("A", "a"), Into(answers));
  joiner.Answer("t", *queued, 1);  // a failed batch: never taken
  EXPECT_NE(joiner.AddProgress("t", Poll("B", "b"), nullptr), nullptr);
  EXPECT_THAT(answers, ElementsAre(1u));
}

}  // namespace
}  // namespace corosched::server
