// Property tests of the interpreter over randomly generated definitions and
// event scripts (seeded, bounded):
//  - the same definition with the same events in the same order always gives
//    the same outputs, receipts, outcomes and final state;
//  - a task snapshotted after any event, serialized, and restored continues
//    exactly as the original;
//  - a definition round-tripped through JSON behaves the same.

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/machine/machine.h"
#include "core/machine/testing/definitions.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);
constexpr int kDefinitions = 300;
constexpr int kEventsPerScript = 40;
const char* const kSignals[] = {"a", "b", "c"};

// Builds a random, valid-looking definition: states S0..Sk, END and FAIL,
// variables n (number), s (string) and b (bool) given as inputs.
class DefinitionGenerator {
 public:
  explicit DefinitionGenerator(uint32_t seed) : random_(seed) {}

  v1::TaskDefinition Generate() {
    v1::TaskDefinition definition;
    definition.set_name("random");
    definition.set_version(absl::StrCat(random_()));
    states_ = Uniform(2, 6);
    definition.set_initial("S0");
    auto& states = *definition.mutable_states();
    for (int i = 0; i < states_; ++i) {
      v1::State& state = states[absl::StrCat("S", i)];
      const int actions = Uniform(0, 3);
      for (int a = 0; a < actions; ++a) AddAction(state.add_actions());
      SetSuspension(&state);
    }
    states["END"].mutable_complete()->set_result("n=${n} s=${s}");
    states["FAIL"].mutable_fail()->set_error("failed at n=${n}");
    return definition;
  }

  int Uniform(int low, int high) {
    return std::uniform_int_distribution<int>(low, high)(random_);
  }

 private:
  std::string Target() {
    const int pick = Uniform(0, states_ + 1);
    if (pick == states_) return "END";
    if (pick == states_ + 1) return Uniform(0, 3) == 0 ? "FAIL" : "END";
    return absl::StrCat("S", pick);
  }

  void AddAction(v1::Action* action) {
    static const char* const kPieces[] = {"x",  "${n}", "${s}",       "${b}",
                                          "$$", " ",    "${signal.v}"};
    switch (Uniform(0, 4)) {
      case 0: {
        std::string text;
        for (int i = Uniform(1, 3); i > 0; --i) text += kPieces[Uniform(0, 6)];
        action->set_emit(text);
        break;
      }
      case 1:
        action->mutable_set()->set_variable("n");
        action->mutable_set()->mutable_value()->set_number(Uniform(-2, 5));
        break;
      case 2:
        action->mutable_set()->set_variable("s");
        action->mutable_set()->mutable_value()->set_string(
            std::string(Uniform(0, 3), 'z'));
        break;
      case 3:
        action->mutable_add()->set_variable("n");
        action->mutable_add()->set_amount(Uniform(-2, 2));
        break;
      default:
        action->mutable_set()->set_variable("b");
        action->mutable_set()->mutable_value()->set_bool_(Uniform(0, 1) == 1);
        break;
    }
  }

  void SetSuspension(v1::State* state) {
    switch (Uniform(0, 5)) {
      case 0:
        state->mutable_yield()->set_next(Target());
        break;
      case 1:
        state->mutable_sleep()->mutable_duration()->set_seconds(Uniform(0, 3));
        state->mutable_sleep()->set_next(Target());
        break;
      case 2: {
        v1::Await& await = *state->mutable_await();
        for (const char* signal : kSignals) {
          if (Uniform(0, 1) == 1) (*await.mutable_signals())[signal] = Target();
        }
        if (await.signals().empty() || Uniform(0, 1) == 1) {
          await.mutable_timeout()->set_seconds(Uniform(0, 5));
          await.set_on_timeout(Target());
        }
        break;
      }
      case 3:
      case 4: {
        v1::Choice& choice = *state->mutable_choice();
        for (int i = Uniform(1, 2); i > 0; --i) AddBranch(choice.add_when());
        choice.set_otherwise(Target());
        break;
      }
      default:
        state->mutable_complete()->set_result("early n=${n}");
        break;
    }
  }

  void AddBranch(v1::Branch* branch) {
    branch->set_next(Target());
    switch (Uniform(0, 3)) {
      case 0:
        branch->set_variable("n");
        branch->mutable_less_than()->set_number(Uniform(-1, 4));
        break;
      case 1:
        branch->set_variable("n");
        branch->mutable_greater_or_equal()->set_number(Uniform(-1, 4));
        break;
      case 2:
        branch->set_variable("s");
        branch->mutable_equals()->set_string(std::string(Uniform(0, 2), 'z'));
        break;
      default:
        branch->set_variable("signal.v");
        branch->set_is_set(Uniform(0, 1) == 1);
        break;
    }
  }

  std::mt19937 random_;
  int states_ = 0;
};

struct Event {
  enum Kind { kPoll, kAdvance, kDeliver } kind;
  absl::Duration advance;
  std::string signal;
  int payload;
};

std::vector<Event> GenerateScript(DefinitionGenerator& random) {
  std::vector<Event> script;
  for (int i = 0; i < kEventsPerScript; ++i) {
    const int pick = random.Uniform(0, 9);
    if (pick < 4) {
      script.push_back({Event::kPoll, {}, "", 0});
    } else if (pick < 6) {
      script.push_back({Event::kAdvance,
                        absl::Milliseconds(500 * random.Uniform(0, 6)), "", 0});
    } else {
      script.push_back({Event::kDeliver,
                        {},
                        kSignals[random.Uniform(0, 2)],
                        random.Uniform(0, 9)});
    }
  }
  return script;
}

// Applies events to a machine and writes everything observable to a trace.
struct ScriptRun {
  explicit ScriptRun(Machine start, absl::Time at = kStart,
                     std::vector<std::string> so_far = {})
      : machine(std::move(start)), now(at), trace(std::move(so_far)) {}

  Machine machine;
  absl::Time now;
  std::vector<std::string> trace;

  void Apply(const Event& event) {
    switch (event.kind) {
      case Event::kPoll: {
        PollOutcome outcome = machine.Poll(
            now, [this](uint64_t sequence, absl::string_view text) {
              trace.push_back(absl::StrCat("out ", sequence, " ", text));
            });
        trace.push_back(absl::StrCat(
            "poll ", static_cast<int>(outcome.next), " steps ", outcome.steps,
            " deadline ",
            outcome.deadline ? absl::FormatTime(*outcome.deadline) : "-"));
        break;
      }
      case Event::kAdvance:
        now += event.advance;
        break;
      case Event::kDeliver: {
        absl::StatusOr<WakeReceipt> receipt = machine.Deliver(
            testing::MakeSignal(event.signal,
                                absl::StrCat(R"({"v": )", event.payload, "}")),
            now);
        trace.push_back(
            receipt.ok()
                ? absl::StrCat("wake ", static_cast<int>(receipt->disposition),
                               " #", receipt->sequence)
                : std::string(receipt.status().message()));
        break;
      }
    }
  }
};

Machine StartMachine(std::shared_ptr<const Program> program) {
  google::protobuf::Map<std::string, v1::Value> inputs;
  inputs["n"].set_number(0);
  inputs["s"].set_string("z");
  inputs["b"].set_bool_(false);
  return *Machine::Start(std::move(program), inputs);
}

ScriptRun RunScript(std::shared_ptr<const Program> program,
                    const std::vector<Event>& script) {
  ScriptRun run(StartMachine(std::move(program)));
  for (const Event& event : script) run.Apply(event);
  return run;
}

bool SameState(const Machine& a, const Machine& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a.Snapshot(),
                                                            b.Snapshot());
}

// Generates the next definition that validates; `seed` moves past failures.
std::shared_ptr<const Program> NextProgram(uint32_t* seed) {
  for (;;) {
    DefinitionGenerator generator(++*seed);
    absl::StatusOr<std::shared_ptr<const Program>> program =
        Program::Compile(generator.Generate());
    if (program.ok()) return *program;
  }
}

TEST(MachinePropertyTest, SameEventsGiveTheSameOutputAndState) {
  uint32_t seed = 1000;
  for (int i = 0; i < kDefinitions; ++i) {
    std::shared_ptr<const Program> program = NextProgram(&seed);
    DefinitionGenerator random(seed * 7919);
    const std::vector<Event> script = GenerateScript(random);
    ScriptRun first = RunScript(program, script);
    ScriptRun second = RunScript(program, script);
    ASSERT_EQ(first.trace, second.trace) << "seed " << seed;
    ASSERT_TRUE(SameState(first.machine, second.machine)) << "seed " << seed;
    // The definition as people write it (JSON) runs the same.
    std::string json;
    ASSERT_TRUE(google::protobuf::util::MessageToJsonString(
                    program->definition(), &json)
                    .ok());
    std::shared_ptr<const Program> from_json = testing::CompileOrDie(json);
    ASSERT_NE(from_json, nullptr) << "seed " << seed;
    ScriptRun third = RunScript(from_json, script);
    ASSERT_EQ(first.trace, third.trace) << "seed " << seed;
  }
}

TEST(MachinePropertyTest, RestoringAfterAnyEventContinuesIdentically) {
  uint32_t seed = 5000;
  int ended = 0;
  for (int i = 0; i < kDefinitions; ++i) {
    std::shared_ptr<const Program> program = NextProgram(&seed);
    DefinitionGenerator random(seed * 7919);
    const std::vector<Event> script = GenerateScript(random);
    const ScriptRun original = RunScript(program, script);
    if (original.machine.ended()) ++ended;
    for (size_t cut = 0; cut <= script.size(); ++cut) {
      ScriptRun before(StartMachine(program));
      for (size_t e = 0; e < cut; ++e) before.Apply(script[e]);
      // Through the wire format, as the store will keep it.
      v1::TaskSnapshot stored;
      ASSERT_TRUE(stored.ParseFromString(
          before.machine.Snapshot().SerializeAsString()));
      absl::StatusOr<Machine> restored = Machine::Restore(program, stored);
      ASSERT_TRUE(restored.ok()) << restored.status() << " seed " << seed;
      ScriptRun after(*std::move(restored), before.now,
                      std::move(before.trace));
      for (size_t e = cut; e < script.size(); ++e) after.Apply(script[e]);
      ASSERT_EQ(original.trace, after.trace)
          << "seed " << seed << " cut " << cut;
      ASSERT_TRUE(SameState(original.machine, after.machine))
          << "seed " << seed << " cut " << cut;
    }
  }
  // The scripts must reach the interesting part: tasks that end.
  EXPECT_GT(ended, kDefinitions / 4);
}

}  // namespace
}  // namespace corosched::machine
