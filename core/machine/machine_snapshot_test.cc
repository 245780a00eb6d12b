#include <string>

#include "core/machine/machine.h"
#include "core/machine/proto_time.h"
#include "core/machine/testing/definitions.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using testing::CompileOrDie;
using ::testing::HasSubstr;
using testing::MakeSignal;

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

constexpr absl::string_view kWaiter = R"({"name": "waiter", "version": "3",
  "initial": "A", "states": {
    "A": {"emit": "a", "sleep": {"duration": "5s", "next": "B"}},
    "B": {"emit": "b", "await": {"signals": {"go": "END"}, "timeout": "9s",
                                 "onTimeout": "END"}},
    "END": {"complete": {"result": "${signal.k}"}}}})";

TEST(MachineSnapshotTest, HoldsTheWholeState) {
  std::shared_ptr<const Program> program = CompileOrDie(kWaiter);
  google::protobuf::Map<std::string, v1::Value> inputs;
  inputs["x"].set_number(4);
  Machine machine = *Machine::Start(program, inputs);
  machine.Poll(kStart);
  ASSERT_TRUE(machine.Deliver(MakeSignal("early", R"({"k": 1})"), kStart).ok());
  const v1::TaskSnapshot snapshot = machine.Snapshot();
  EXPECT_EQ(snapshot.definition_name(), "waiter");
  EXPECT_EQ(snapshot.definition_version(), "3");
  EXPECT_EQ(snapshot.status(), v1::TASK_STATUS_SLEEPING);
  EXPECT_EQ(snapshot.state(), "A");
  EXPECT_EQ(snapshot.variables().at("x").number(), 4);
  EXPECT_EQ(*FromProtoTimestamp(snapshot.deadline()),
            kStart + absl::Seconds(5));
  ASSERT_EQ(snapshot.mailbox_size(), 1);
  EXPECT_EQ(snapshot.mailbox(0).signal().name(), "early");
  EXPECT_EQ(snapshot.mailbox(0).sequence(), 1);
  EXPECT_EQ(*FromProtoTimestamp(snapshot.mailbox(0).received_at()), kStart);
  EXPECT_EQ(snapshot.output_sequence(), 1);
  EXPECT_EQ(snapshot.signal_sequence(), 1);
  EXPECT_EQ(snapshot.steps().total(), 1);
  EXPECT_EQ(snapshot.steps().polls(), 1);
}

TEST(MachineSnapshotTest, ARestoredTaskKeepsItsDeadlineAndMailbox) {
  std::shared_ptr<const Program> program = CompileOrDie(kWaiter);
  Machine machine = Machine::Start(program);
  machine.Poll(kStart);                     // sleeps until +5s
  machine.Poll(kStart + absl::Seconds(5));  // awaits until +14s
  ASSERT_TRUE(machine.Deliver(MakeSignal("other"), kStart).ok());
  absl::StatusOr<Machine> restored =
      Machine::Restore(program, machine.Snapshot());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      restored->Snapshot(), machine.Snapshot()));
  EXPECT_EQ(restored->deadline(), kStart + absl::Seconds(14));
  // A later signal gets the next sequence number, as in the original.
  EXPECT_EQ(
      restored->Deliver(MakeSignal("go", R"({"k": 2})"), kStart)->sequence, 2);
  restored->Poll(kStart + absl::Seconds(6));
  EXPECT_EQ(restored->result(), "2");
}

TEST(MachineSnapshotTest, RefusesASnapshotOfAnotherDefinition) {
  Machine hello = Machine::Start(CompileOrDie(testing::kHelloJson));
  absl::StatusOr<Machine> restored =
      Machine::Restore(CompileOrDie(kWaiter), hello.Snapshot());
  EXPECT_EQ(restored.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(restored.status().message(),
              HasSubstr("it was taken from \"hello\" version \"\", not "
                        "\"waiter\" version \"3\""));
}

TEST(MachineSnapshotTest, RefusesSnapshotsThatDoNotFit) {
  std::shared_ptr<const Program> program = CompileOrDie(kWaiter);
  Machine machine = Machine::Start(program);
  machine.Poll(kStart);
  const v1::TaskSnapshot good = machine.Snapshot();
  auto restore_error = [&](auto mutate) {
    v1::TaskSnapshot bad = good;
    mutate(bad);
    return std::string(Machine::Restore(program, bad).status().message());
  };
  EXPECT_THAT(restore_error([](v1::TaskSnapshot& s) { s.set_state("Q"); }),
              HasSubstr("state \"Q\" is not in definition \"waiter\""));
  EXPECT_THAT(restore_error([](v1::TaskSnapshot& s) {
                s.set_status(v1::TASK_STATUS_AWAITING);
              }),
              HasSubstr("AWAITING needs an await state"));
  EXPECT_THAT(restore_error([](v1::TaskSnapshot& s) { s.clear_deadline(); }),
              HasSubstr("SLEEPING needs a sleep state and a deadline"));
  EXPECT_THAT(restore_error([](v1::TaskSnapshot& s) {
                s.mutable_deadline()->set_nanos(-1);
              }),
              HasSubstr("malformed timestamp"));
  EXPECT_THAT(restore_error([](v1::TaskSnapshot& s) {
                (*s.mutable_variables())["bad name"].set_number(1);
              }),
              HasSubstr("input \"bad name\""));
  EXPECT_THAT(
      restore_error([](v1::TaskSnapshot& s) {
        v1::PendingSignal& pending = *s.add_mailbox();
        pending.mutable_signal()->set_name("go");
        pending.set_sequence(7);  // past signal_sequence (0)
      }),
      HasSubstr("mailbox sequence numbers and arrival times must increase"));
  EXPECT_THAT(restore_error([](v1::TaskSnapshot& s) {
                s.set_signal_sequence(1);
                v1::PendingSignal& pending = *s.add_mailbox();
                pending.mutable_signal()->set_name("not valid");
                pending.set_sequence(1);
              }),
              HasSubstr("signal name \"not valid\" is not valid"));
  EXPECT_THAT(restore_error([](v1::TaskSnapshot& s) {
                s.set_status(static_cast<v1::TaskStatus>(42));
              }),
              HasSubstr("unknown status 42"));
}

}  // namespace
}  // namespace corosched::machine
