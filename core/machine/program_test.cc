#include "core/machine/program.h"

#include <memory>
#include <string>
#include <vector>

#include "core/machine/testing/definitions.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace corosched::machine {
namespace {

using testing::CompileOrDie;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(ProgramTest, ListsEachAwaitedSignalOnceInOrder) {
  std::shared_ptr<const Program> program =
      CompileOrDie(R"({"name": "t", "initial": "A", "states": {
        "A": {"await": {"signals": {"stop": "END", "go": "B"}}},
        "B": {"await": {"signals": {"go": "END", "abort": "END"},
                        "timeout": "1s", "onTimeout": "END"}},
        "END": {"complete": {}}}})");
  ASSERT_NE(program, nullptr);
  EXPECT_THAT(program->awaited_signals(), ElementsAre("abort", "go", "stop"));
  EXPECT_TRUE(program->AwaitsSignal("go"));
  EXPECT_TRUE(program->AwaitsSignal("abort"));
  EXPECT_FALSE(program->AwaitsSignal("g"));
  EXPECT_FALSE(program->AwaitsSignal("gone"));
}

TEST(ProgramTest, AProgramWithoutAwaitsAwaitsNoSignal) {
  std::shared_ptr<const Program> program = CompileOrDie(testing::kHelloJson);
  ASSERT_NE(program, nullptr);
  EXPECT_THAT(program->awaited_signals(), IsEmpty());
  EXPECT_FALSE(program->AwaitsSignal("go"));
}

}  // namespace
}  // namespace corosched::machine
