#include "core/examples/hello.h"

#include <string>

#include "core/executor.h"
#include "gtest/gtest.h"

namespace corosched::examples {
namespace {

void Ignore(const void*) {}
void Count(const void* counter) {
  ++*static_cast<int*>(const_cast<void*>(counter));
}
constexpr WakerVTable kCountingVTable = {&Ignore, &Count, &Count, &Ignore};

TEST(HelloFutureTest, PrintsHelloWorldInThreePolls) {
  std::string out;
  HelloFuture hello(&out);
  int wakes = 0;
  Waker waker = Waker::FromRaw(&kCountingVTable, &wakes);
  Context cx(waker);
  EXPECT_TRUE(hello.Poll(cx).IsPending());
  EXPECT_EQ(out, "Hello, ");
  EXPECT_TRUE(hello.Poll(cx).IsPending());
  EXPECT_EQ(out, "Hello, World!");
  EXPECT_TRUE(hello.Poll(cx).IsReady());
  EXPECT_EQ(wakes, 2);  // it woke itself between states
}

TEST(HelloFutureTest, RunsOnTheExecutor) {
  auto executor = Executor::Create({.workers = 2}).value();
  std::string out;
  EXPECT_TRUE(executor->Spawn(HelloFuture(&out)).value().Wait().ok());
  EXPECT_EQ(out, "Hello, World!");
}

TEST(HelloCoroutineTest, RunsOnTheExecutor) {
  auto executor = Executor::Create({.workers = 1}).value();
  std::string out;
  EXPECT_TRUE(executor->Spawn(HelloCoroutine(&out)).value().Wait().ok());
  EXPECT_EQ(out, "Hello, World!");
  EXPECT_EQ(executor->Stats().polls, 3u);
}

}  // namespace
}  // namespace corosched::examples
