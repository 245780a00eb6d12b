// Structured values in running tasks: templates, paths in choices and
// copies, payloads that land whole, and snapshots that keep them.

#include <string>

#include "absl/strings/str_cat.h"
#include "core/machine/machine.h"
#include "core/machine/testing/definitions.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using testing::CompileOrDie;
using ::testing::HasSubstr;
using testing::MakeSignal;
using testing::PollInto;
using testing::StartOrDie;
using testing::WithState;

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

constexpr absl::string_view kOrder =
    R"({"order": {"json": {"id": 7, "items": [{"sku": "A1", "qty": 2}],
                           "note": null}}})";

TEST(MachineStructuredTest, TemplatesReadPathsAndShowJson) {
  Machine machine = StartOrDie(
      WithState(
          R"({"emit": "${order.items[0].sku} x${order.items[0].qty}; ${order.items}; ${order.note}",
                    "yield": {"next": "END"}})"),
      kOrder);
  std::string output;
  PollInto(machine, kStart, &output);
  EXPECT_EQ(output, R"(A1 x2; [{"qty":2,"sku":"A1"}]; null)");
}

TEST(MachineStructuredTest, AMissingPathFailsTheTaskNamingIt) {
  Machine machine = StartOrDie(
      WithState(
          R"({"emit": "${order.items[1].sku}", "yield": {"next": "END"}})"),
      kOrder);
  machine.Poll(kStart);
  EXPECT_EQ(machine.status(), v1::TASK_STATUS_FAILED);
  EXPECT_THAT(machine.error(), HasSubstr("states[\"S\"].emit: variable "
                                         "\"order.items[1].sku\" is not set"));
}

TEST(MachineStructuredTest, ChoicesTestPathsAndStructuredLiterals) {
  std::shared_ptr<const Program> program = CompileOrDie(R"({"name": "t",
    "initial": "S", "states": {
      "S": {"choice": {"when": [
        {"variable": "order.items[5]", "isSet": true, "next": "NO"},
        {"variable": "order.items[0].qty", "greaterThan": {"number": 1},
         "next": "MORE"}], "otherwise": "NO"}},
      "MORE": {"choice": {"when": [
        {"variable": "order.items[0]", "equals":
           {"json": {"sku": "A1", "qty": 2}}, "next": "YES"}],
        "otherwise": "NO"}},
      "YES": {"complete": {"result": "yes"}},
      "NO": {"complete": {"result": "no"}}}})");
  Machine machine = StartOrDie(program, kOrder);
  machine.Poll(kStart);
  EXPECT_EQ(machine.result(), "yes");
}

TEST(MachineStructuredTest, ComparingUnlikeStructuresFailsTheTask) {
  Machine machine =
      StartOrDie(WithState(R"({"choice": {"when": [{"variable": "order.items",
                    "equals": {"json": {"a": 1}}, "next": "END"}],
                    "otherwise": "END"}})"),
                 kOrder);
  machine.Poll(kStart);
  EXPECT_THAT(machine.error(),
              HasSubstr("compares variable \"order.items\", a list, with an "
                        "object"));
}

TEST(MachineStructuredTest, CopyOfReadsAPathIntoAWholeVariable) {
  Machine machine =
      StartOrDie(WithState(R"({"actions": [{"set": {"variable": "first",
                    "copyOf": "order.items[0]"}}],
                    "yield": {"next": "END"}})"),
                 kOrder);
  machine.Poll(kStart);
  std::string shown;
  AppendValue(machine.variables().at("first"), &shown);
  EXPECT_EQ(shown, R"({"qty":2,"sku":"A1"})");
}

TEST(MachineStructuredTest, SetsStructuredLiterals) {
  Machine machine =
      StartOrDie(WithState(R"({"actions": [{"set": {"variable": "l",
                    "value": {"json": [1, "a", null]}}}],
                    "complete": {"result": "${l} ${l[1]}"}})"));
  machine.Poll(kStart);
  EXPECT_EQ(machine.result(), R"([1,"a",null] a)");
}

TEST(MachineStructuredTest, PayloadsLandWholeAndPathsReadIntoThem) {
  Machine machine = StartOrDie(CompileOrDie(R"({"name": "t", "initial": "A",
    "states": {"A": {"await": {"signals": {"go": "B"}}},
               "B": {"complete": {"result":
                 "${signal.user.id} ${signal.tags[1]} ${signal.none} ${signal.user}"}}}})"));
  machine.Poll(kStart);
  ASSERT_TRUE(machine
                  .Deliver(MakeSignal("go", R"({"user": {"id": 7},
                           "tags": ["a", "b"], "none": null})"),
                           kStart)
                  .ok());
  machine.Poll(kStart);
  EXPECT_EQ(machine.result(), R"(7 b null {"id":7})");
}

TEST(MachineStructuredTest, StructuredVariablesCountTowardTheByteLimit) {
  MachineLimits limits;
  limits.max_value_bytes = 10;
  std::shared_ptr<const Program> program =
      CompileOrDie(testing::kHelloJson, limits);
  v1::TaskSnapshot holder;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(
                  R"({"variables": {"l": {"json": [1234, 5678, 9]}}})", &holder)
                  .ok());
  absl::StatusOr<Machine> machine = Machine::Start(program, holder.variables());
  EXPECT_EQ(machine.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(machine.status().message(),
              HasSubstr("a 13-byte value (as JSON) for variable \"l\"; the "
                        "limit is 10"));
}

constexpr absl::string_view kTwoSignals = R"({"name": "t", "initial": "A",
  "states": {"A": {"await": {"signals": {"go": "B"}}},
             "B": {"emit": "${signal.user.name}:", "await": {"signals": {"go": "C"}}},
             "C": {"complete": {"result": "${signal.user.name} ${signal.tags}"}}}})";

TEST(MachineStructuredTest, RestoreOfSnapshotContinuesIdentically) {
  std::shared_ptr<const Program> program = CompileOrDie(kTwoSignals);
  Machine machine = StartOrDie(program, kOrder);
  machine.Poll(kStart);
  ASSERT_TRUE(
      machine.Deliver(MakeSignal("go", R"({"user": {"name": "ana"}})"), kStart)
          .ok());
  std::string output;
  PollInto(machine, kStart, &output);  // takes it; awaits in B
  EXPECT_EQ(output, "ana:");
  absl::StatusOr<Machine> restored =
      Machine::Restore(program, machine.Snapshot());
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      restored->Snapshot(), machine.Snapshot()));
  EXPECT_EQ(restored->Snapshot().variables().at("signal.user").kind_case(),
            v1::Value::kJson);
  EXPECT_EQ(restored->variables(), machine.variables());
  const v1::Signal second =
      MakeSignal("go", R"({"user": {"name": "bo"}, "tags": [1, [2]]})");
  ASSERT_TRUE(machine.Deliver(second, kStart).ok());
  ASSERT_TRUE(restored->Deliver(second, kStart).ok());
  machine.Poll(kStart);
  restored->Poll(kStart);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
      restored->Snapshot(), machine.Snapshot()));
  EXPECT_EQ(machine.result(), "bo [1,[2]]");
  EXPECT_EQ(restored->result(), machine.result());
}

TEST(MachineStructuredTest, RestoredFlatPayloadNamesStillRead) {
  // A snapshot holding a payload field as one flat dotted variable,
  // "signal.user.name": the longest-prefix rule reads it; the next signal
  // clears it.
  v1::TaskDefinition definition = testing::ParseOrDie(kTwoSignals);
  definition.set_initial("B");
  std::shared_ptr<const Program> program = *Program::Compile(definition);
  Machine machine = StartOrDie(program);
  v1::TaskSnapshot snapshot = machine.Snapshot();
  (*snapshot.mutable_variables())["signal.user.name"].set_string("old");
  absl::StatusOr<Machine> restored = Machine::Restore(program, snapshot);
  ASSERT_TRUE(restored.ok()) << restored.status();
  std::string output;
  PollInto(*restored, kStart, &output);
  EXPECT_EQ(output, "old:");
  ASSERT_TRUE(restored
                  ->Deliver(MakeSignal("go", R"({"user": {"name": "new"},
                            "tags": []})"),
                            kStart)
                  .ok());
  restored->Poll(kStart);
  EXPECT_EQ(restored->result(), "new []");
  EXPECT_FALSE(restored->variables().contains("signal.user.name"));
}

}  // namespace
}  // namespace corosched::machine
