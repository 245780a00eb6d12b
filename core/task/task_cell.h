#pragma once

#include <new>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "core/task/cell_allocator.h"
#include "core/task/future.h"
#include "core/task/header.h"
#include "core/task/join_result.h"

namespace corosched::internal {

// One heap allocation per task: the header the scheduler sees, followed by
// the future and, once it finishes, its result in the same storage.
//
// The stage is touched only by the owner of the task (see TaskVTable), so it
// needs no lock.
template <Future F>
class TaskCell final : public TaskHeader {
 public:
  using Output = typename F::Output;
  using Result = JoinResult<Output>;

  static TaskHeader* New(F future, Scheduler* scheduler) {
    return new TaskCell(std::move(future), scheduler);
  }

  // Cells live in whole cache lines of their own (see CellAllocator).
  static void* operator new(size_t size) {
    return CellAllocator::Allocate(size);
  }
  static void operator delete(void* p, size_t size) {
    CellAllocator::Deallocate(p, size);
  }

 private:
  static constexpr size_t kFuture = 1;
  static constexpr size_t kResult = 2;

  TaskCell(F future, Scheduler* scheduler)
      : TaskHeader(&kVTable, scheduler),
        stage_(std::in_place_index<kFuture>, std::move(future)) {}

  static TaskCell* Cast(TaskHeader* task) {
    return static_cast<TaskCell*>(task);
  }

  static bool PollFuture(TaskHeader* task, Context& cx) {
    auto& stage = Cast(task)->stage_;
    F& future = *std::get_if<kFuture>(&stage);
    if constexpr (std::is_void_v<Output>) {
      if (future.Poll(cx).IsPending()) return false;
      stage.template emplace<kResult>(absl::OkStatus());
    } else {
      auto poll = future.Poll(cx);
      if (poll.IsPending()) return false;
      // The value moves out of the poll before the future is destroyed.
      Result result(std::move(poll).value());
      stage.template emplace<kResult>(std::move(result));
    }
    return true;
  }

  static void Cancel(TaskHeader* task) {
    Cast(task)->stage_.template emplace<kResult>(
        absl::CancelledError("task was cancelled before it finished"));
  }

  static void DropOutput(TaskHeader* task) {
    Cast(task)->stage_.template emplace<0>();
  }

  static void TakeOutput(TaskHeader* task, void* out) {
    auto& stage = Cast(task)->stage_;
    *static_cast<Result*>(out) = std::move(*std::get_if<kResult>(&stage));
    stage.template emplace<0>();
  }

  static void Dealloc(TaskHeader* task) { delete Cast(task); }

  static constexpr TaskVTable kVTable = {&PollFuture, &Cancel, &DropOutput,
                                         &TakeOutput, &Dealloc};

  std::variant<std::monostate, F, Result> stage_;
};

}  // namespace corosched::internal
