#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "core/machine/testing/definitions.h"
#include "core/machine/validator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::ParseOrDie;

std::vector<std::string> Problems(absl::string_view json) {
  std::vector<std::string> lines;
  for (const DefinitionProblem& problem :
       FindDefinitionProblems(ParseOrDie(json))) {
    lines.push_back(problem.ToString());
  }
  return lines;
}

// A definition whose initial state S is a work state with `work_fields`
// (beside queue and next) and `extra` state fields (retry, catch).
std::string WorkState(absl::string_view work_fields,
                      absl::string_view extra = "") {
  return absl::StrCat(
      R"({"name": "t", "initial": "S", "states": {"S": {"work": {)",
      R"("queue": "jobs", "next": "END")", work_fields.empty() ? "" : ", ",
      work_fields, "}", extra.empty() ? "" : ", ", extra,
      R"(}, "END": {"complete": {}}, "OOPS": {"fail": {}}}})");
}

TEST(WorkValidationTest, AcceptsAFullWorkState) {
  EXPECT_THAT(
      Problems(WorkState(
          R"("input": {"url": "${url}", "n": [1, "x${n}"]}, "timeout": "30s",
             "heartbeat": "10s", "scheduleTimeout": "3600s",
             "resultVariable": "job")",
          R"("retry": [{"errors": ["timeout", "*"], "maxAttempts": 5,
                        "interval": "0s", "backoffRate": 1.5,
                        "maxInterval": "30s", "jitter": "JITTER_FULL"}],
             "catch": [{"errors": ["*"], "next": "OOPS",
                        "errorVariable": "why"}])")),
      IsEmpty());
}

TEST(WorkValidationTest, NamesTheQueueTargetAndVariableAtFault) {
  EXPECT_THAT(
      Problems(R"({"name": "t", "initial": "S", "states": {
        "S": {"work": {"queue": "no queue!", "next": "NOWHERE",
                       "timeout": "1s", "resultVariable": "a b"}},
        "END": {"complete": {}}}})"),
      ElementsAre(HasSubstr("states[\"S\"].work.queue: queue name"),
                  HasSubstr("states[\"S\"].work.resultVariable: variable"),
                  HasSubstr("states[\"S\"].work.next: unknown state "
                            "\"NOWHERE\"")));
  EXPECT_THAT(Problems(WorkState(
                  absl::StrCat(R"("queue": ")", std::string(65, 'q'), R"(")"))),
              ::testing::Contains(HasSubstr("work.queue")));
}

TEST(WorkValidationTest, NeedsATimeoutOrAHeartbeat) {
  EXPECT_THAT(Problems(WorkState("")),
              ElementsAre(HasSubstr("states[\"S\"].work: neither timeout nor "
                                    "heartbeat")));
  EXPECT_THAT(Problems(WorkState(R"("heartbeat": "5s")")), IsEmpty());
}

TEST(WorkValidationTest, BoundsEachDuration) {
  EXPECT_THAT(Problems(WorkState(R"("timeout": "0.5s")")),
              ElementsAre(HasSubstr("work.timeout: 500ms is out of bounds")));
  EXPECT_THAT(Problems(WorkState(R"("heartbeat": "31536001s")")),
              ElementsAre(HasSubstr("work.heartbeat: ")));
  EXPECT_THAT(
      Problems(WorkState(R"("timeout": "1s", "scheduleTimeout": "0s")")),
      ElementsAre(HasSubstr("work.scheduleTimeout: ")));
  EXPECT_THAT(Problems(WorkState(R"("timeout": "31536000s")")), IsEmpty());
}

TEST(WorkValidationTest, ChecksTheInputsTemplatesAndSize) {
  EXPECT_THAT(Problems(WorkState(R"("timeout": "1s",
                                    "input": {"a": ["${bad path}"]})")),
              ElementsAre(HasSubstr("work.input[\"a\"][0]: ")));
  EXPECT_THAT(Problems(WorkState(absl::StrCat(R"("timeout": "1s", "input": ")",
                                              std::string(64 * 1024 + 1, 'x'),
                                              R"(")"))),
              ElementsAre(HasSubstr("work.input: 65537 bytes")));
  std::string deep = "1";
  for (int i = 0; i < 33; ++i) deep = absl::StrCat("[", deep, "]");
  EXPECT_THAT(
      Problems(WorkState(absl::StrCat(R"("timeout": "1s", "input": )", deep))),
      ElementsAre(HasSubstr("work.input: ")));
}

TEST(WorkValidationTest, RefusesRetryAndCatchOffAWorkState) {
  EXPECT_THAT(Problems(R"({"name": "t", "initial": "S", "states": {
        "S": {"yield": {"next": "END"}, "retry": [{"errors": ["*"]}]},
        "END": {"complete": {}}}})"),
              ElementsAre(HasSubstr("states[\"S\"].retry: only a work state")));
}

TEST(WorkValidationTest, BoundsRetryRules) {
  const std::string rules = R"("retry": [
      {"errors": []},
      {"errors": ["ok", ""], "maxAttempts": 101},
      {"errors": ["x"], "backoffRate": 0.5, "interval": "-1s"},
      {"errors": ["x"], "backoffRate": "NaN", "maxInterval": "31536001s"},
      {"errors": ["x"], "backoffRate": 101}])";
  EXPECT_THAT(
      Problems(WorkState(R"("timeout": "1s")", rules)),
      ElementsAre(HasSubstr("retry[0].errors: no error names"),
                  HasSubstr("retry[1].errors[1]: error name"),
                  HasSubstr("retry[1].maxAttempts: 101 is more than"),
                  HasSubstr("retry[2].interval: "),
                  HasSubstr("retry[2].backoffRate: 0.5 is out of bounds"),
                  HasSubstr("retry[3].maxInterval: "),
                  HasSubstr("retry[3].backoffRate: NaN is out of bounds"),
                  HasSubstr("retry[4].backoffRate: 101 is out of bounds")));
  std::string many = R"("retry": [)";
  for (int i = 0; i < 17; ++i) {
    absl::StrAppend(&many, i ? "," : "", R"({"errors": ["*"]})");
  }
  EXPECT_THAT(Problems(WorkState(R"("timeout": "1s")", many + "]")),
              ElementsAre(HasSubstr("retry: 17 rules; the limit is 16")));
  std::string names;
  for (int i = 0; i < 17; ++i) absl::StrAppend(&names, i ? "," : "", "\"e\"");
  EXPECT_THAT(Problems(WorkState(
                  R"("timeout": "1s")",
                  absl::StrCat(R"("retry": [{"errors": [)", names, "]}]"))),
              ElementsAre(HasSubstr("retry[0].errors: 17 error names")));
}

TEST(WorkValidationTest, BoundsCatchers) {
  EXPECT_THAT(
      Problems(WorkState(R"("timeout": "1s")",
                         R"("catch": [{"errors": ["\u0001"], "next": "X",
                                       "errorVariable": "no good"}])")),
      ElementsAre(HasSubstr("catch[0].errors[0]: error name"),
                  HasSubstr("catch[0].errorVariable: variable name"),
                  HasSubstr("catch[0].next: unknown state \"X\"")));
  std::string many = R"("catch": [)";
  for (int i = 0; i < 17; ++i) {
    absl::StrAppend(&many, i ? "," : "", R"({"errors": ["*"], "next": "END"})");
  }
  EXPECT_THAT(Problems(WorkState(R"("timeout": "1s")", many + "]")),
              ElementsAre(HasSubstr("catch: 17 catchers; the limit is 16")));
}

TEST(WorkValidationTest, BoundsTheTaskTimeout) {
  auto with_timeout = [](absl::string_view timeout) {
    return Problems(absl::StrCat(R"({"name": "t", "initial": "END",
        "timeout": ")",
                                 timeout, R"(", "states": {
        "END": {"complete": {}}}})"));
  };
  EXPECT_THAT(with_timeout("0s"), IsEmpty());
  EXPECT_THAT(with_timeout("30s"), IsEmpty());
  EXPECT_THAT(with_timeout("0.5s"), ElementsAre(HasSubstr("timeout: 500ms")));
  EXPECT_THAT(with_timeout("31536001s"), ElementsAre(HasSubstr("timeout: ")));
}

TEST(WorkValidationTest, CatchTargetsCountTowardsAReachableEnd) {
  // The only end is reached through the catcher.
  EXPECT_THAT(Problems(R"({"name": "t", "initial": "S", "states": {
        "S": {"work": {"queue": "q", "next": "S", "timeout": "1s"},
              "catch": [{"errors": ["*"], "next": "END"}]},
        "END": {"complete": {}}}})"),
              IsEmpty());
  EXPECT_THAT(Problems(R"({"name": "t", "initial": "S", "states": {
        "S": {"work": {"queue": "q", "next": "S", "timeout": "1s"}}}})"),
              ElementsAre(HasSubstr("no complete or fail")));
}

TEST(WorkValidationTest, AnErrorVariableIsAnObject) {
  EXPECT_THAT(
      Problems(WorkState(R"("timeout": "1s")",
                         R"("actions": [{"add": {"variable": "why",
                                                  "amount": 1}}],
                            "catch": [{"errors": ["*"], "next": "END",
                                       "errorVariable": "why"}])")),
      ElementsAre(HasSubstr("catch[0].errorVariable: makes variable \"why\" "
                            "a object")));
}

}  // namespace
}  // namespace corosched::machine
