#include "server/tasks/task_service.h"

#include <optional>
#include <random>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "core/machine/machine.h"
#include "core/machine/proto_time.h"
#include "core/quote.h"
#include "server/daemon/logging.h"
#include "server/store/namespace_keys.h"
#include "server/store/store_keys.h"
#include "server/tasks/request_checks.h"
#include "server/tasks/task_recorder.h"
#include "server/tasks/task_view.h"
#include "spdlog/spdlog.h"

namespace corosched::server {
namespace {

uint64_t RandomSalt() {
  std::random_device device;
  return (uint64_t{device()} << 32) ^ device();
}

// A task's retry-jitter seed: distinct per task, not predictable.
uint64_t NewRandomSeed() {
  thread_local std::mt19937_64 generator(RandomSalt());
  return generator();
}

absl::Status Prefixed(absl::string_view field, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(field, ": ", status.message()));
}

absl::Status Required(absl::string_view field) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
}

// The callback `done` that shows its error as WithLocalName does.
template <typename Response>
TaskService::Reply<Response> LocalizedReply(std::string key,
                                            TaskService::Reply<Response> done) {
  return [key = std::move(key),
          done = std::move(done)](absl::StatusOr<Response> result) mutable {
    if (!result.ok()) result = WithLocalName(result.status(), key);
    std::move(done)(std::move(result));
  };
}

}  // namespace

TaskService::TaskService(Executor& executor, TaskStore& store,
                         TaskRunner& runner, const TaskServiceOptions& options)
    : executor_(executor),
      store_(store),
      runner_(runner),
      max_start_delay_(options.max_start_delay),
      programs_(/*capacity=*/1024, options.limits),
      admission_(*options.admission),
      namespace_metrics_(options.namespace_metrics),
      id_salt_(RandomSalt()) {}

void TaskService::RegisterDefinition(
    absl::string_view ns, const v1::RegisterDefinitionRequest& request,
    Reply<v1::RegisterDefinitionResponse> done) {
  auto program = programs_.Get(request.definition());
  if (!program.ok()) {
    std::move(done)(Prefixed("definition", program.status()));
    return;
  }
  v1::RegisterDefinitionResponse response;
  response.set_name(request.definition().name());
  response.set_version(request.definition().version());
  // Stored under its namespaced name; tasks run it under its own name.
  v1::TaskDefinition stored = request.definition();
  stored.set_name(NamespacedKey(ns, stored.name()));
  done = LocalizedReply(stored.name(), std::move(done));
  store_.PutDefinitionAsync(
      stored, executor_.clock()->Now(),
      [response = std::move(response), done = std::move(done)](
          absl::StatusOr<PutDefinitionResult> put) mutable {
        if (!put.ok()) {
          std::move(done)(put.status());
          return;
        }
        response.set_created(put->created);
        std::move(done)(std::move(response));
      });
}

absl::StatusOr<std::shared_ptr<const machine::Program>>
TaskService::ResolveProgram(absl::string_view ns,
                            const v1::SubmitTaskRequest& request) {
  switch (request.definition_source_case()) {
    case v1::SubmitTaskRequest::kDefinition: {
      auto program = programs_.Get(request.definition());
      if (!program.ok()) return Prefixed("definition", program.status());
      return program;
    }
    case v1::SubmitTaskRequest::kDefinitionRef: {
      const v1::DefinitionRef& ref = request.definition_ref();
      if (ref.name().empty()) return Required("definition_ref.name");
      // The latest version in `ns` when none is named: only ns's admins
      // register there, so only they decide what a bare name runs.
      const std::string key = NamespacedKey(ns, ref.name());
      auto record = store_.GetDefinition(key, ref.version());
      if (!record.ok()) {
        return Prefixed("definition_ref", WithLocalName(record.status(), key));
      }
      record->definition.set_name(ref.name());
      return programs_.Get(record->definition);
    }
    case v1::SubmitTaskRequest::DEFINITION_SOURCE_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "definition, definition_ref: set one of them (an inline definition, "
      "or the name of a registered one)");
}

void TaskService::SubmitTask(absl::string_view ns,
                             const v1::SubmitTaskRequest& request,
                             Reply<v1::SubmitTaskResponse> done) {
  absl::StatusOr<Admitted> admitted = Admit(ns, request);
  if (!admitted.ok()) {
    std::move(done)(admitted.status());
    return;
  }
  // Last, so that a request refused for itself takes none of the rate.
  NamespaceRefusal refusal = NamespaceRefusal::kNone;
  absl::StatusOr<NamespaceSlot> slot = admission_.Admit(ns, &refusal);
  if (namespace_metrics_ != nullptr) {
    namespace_metrics_->OnSubmit(
        ns, refusal == NamespaceRefusal::kRate
                ? NamespaceMetrics::SubmitOutcome::kRateLimited
            : refusal == NamespaceRefusal::kBound
                ? NamespaceMetrics::SubmitOutcome::kAtBound
                : NamespaceMetrics::SubmitOutcome::kAdmitted);
  }
  if (!slot.ok()) {
    std::move(done)(slot.status());
    return;
  }
  std::string key = admitted->record.id;
  runner_.Start(
      std::move(admitted->record), std::move(admitted->program),
      std::move(admitted->machine),
      [done = LocalizedReply(std::move(key), std::move(done))](
          absl::StatusOr<StartedTask> started) mutable {
        if (!started.ok()) {
          std::move(done)(started.status());
          return;
        }
        v1::SubmitTaskResponse response;
        *response.mutable_task() = std::move(started->task);
        response.set_created(started->created);
        std::move(done)(std::move(response));
      },
      *std::move(slot));
}

absl::StatusOr<TaskService::Admitted> TaskService::Admit(
    absl::string_view ns, const v1::SubmitTaskRequest& request) {
  if (draining()) {
    return absl::UnavailableError(
        "the daemon is draining (shutting down) and accepts no new tasks; "
        "retry once it is back, or submit to another instance");
  }
  if (!request.task_id().empty()) {
    absl::Status id = CheckTaskId(request.task_id(), "task_id");
    if (!id.ok()) return id;
  }
  absl::Status labels = CheckLabels(request.labels());
  if (!labels.ok()) return labels;
  const absl::Time now = executor_.clock()->Now();
  absl::StatusOr<std::optional<absl::Time>> start =
      StartTime(request, now, max_start_delay_);
  if (!start.ok()) return start.status();
  auto program = ResolveProgram(ns, request);
  if (!program.ok()) return program.status();
  // Each task jitters its retries on its own sequence, so that tasks
  // failing together do not retry together; recorded with the task, so
  // its delays are the same after a restart.
  absl::StatusOr<machine::Machine> machine = machine::Machine::Start(
      *program, request.inputs(), {.random_seed = NewRandomSeed()});
  if (!machine.ok()) return Prefixed("inputs", machine.status());

  TaskRecord record;
  if (request.task_id().empty()) {
    record.id = NamespacedKey(ns, NewTaskId());
  } else {
    record.id = NamespacedKey(ns, request.task_id());
    record.request_fingerprint = DeterministicBytes(request);
  }
  // Shares the Program's copy: tasks of one definition hold one message.
  record.definition = std::shared_ptr<const v1::TaskDefinition>(
      *program, &(*program)->definition());
  record.inputs = request.inputs();
  record.labels.insert(request.labels().begin(), request.labels().end());
  record.created_at = now;
  record.start_at = *start;
  return Admitted{std::move(record), *std::move(program), *std::move(machine)};
}

void TaskService::WakeTask(absl::string_view ns,
                           const v1::WakeTaskRequest& request,
                           Reply<v1::WakeTaskResponse> done) {
  if (absl::Status id = CheckLookupId(request.task_id()); !id.ok()) {
    std::move(done)(id);
    return;
  }
  if (request.signal().empty()) {
    std::move(done)(Required("signal"));
    return;
  }
  if (request.request_id().size() > kMaxTaskIdBytes) {
    std::move(done)(absl::InvalidArgumentError(absl::StrCat(
        "request_id: longer than the limit of ", kMaxTaskIdBytes, " bytes")));
    return;
  }
  v1::Signal signal;
  signal.set_name(request.signal());
  *signal.mutable_payload() = request.payload();
  std::string key = NamespacedKey(ns, request.task_id());
  runner_.Wake(key, std::move(signal), request.request_id(),
               LocalizedReply(key, std::move(done)));
}

void TaskService::CancelTask(
    absl::string_view ns, const v1::CancelTaskRequest& request,
    absl::AnyInvocable<void(absl::StatusOr<v1::Task>) &&> done) {
  absl::Status checked = CheckLookupId(request.task_id());
  if (checked.ok()) checked = CheckCancelReason(request.reason());
  if (!checked.ok()) {
    std::move(done)(checked);
    return;
  }
  std::string reason =
      request.reason().empty() ? "cancelled by request" : request.reason();
  std::string key = NamespacedKey(ns, request.task_id());
  runner_.Cancel(
      key, std::move(reason),
      [key, done = std::move(done)](absl::StatusOr<TaskRecord> record) mutable {
        if (!record.ok()) {
          std::move(done)(WithLocalName(record.status(), key));
        } else {
          std::move(done)(ToTaskMessage(*record));
        }
      });
}

absl::StatusOr<uint64_t> TaskService::ResumeUnfinished() {
  return ResumeTasks([this](absl::FunctionRef<absl::Status(TaskRecord)> visit) {
    return store_.ForEachUnfinishedTask(visit, /*page_size=*/4096);
  });
}

absl::StatusOr<uint64_t> TaskService::ResumeTasks(TaskSource for_each) {
  uint64_t resumed = 0;
  // Millions of spawns from this thread: no worker wake-up for each.
  Executor::SpawnBatch batch(executor_);
  CompiledDefinitions compiled;
  absl::Status scanned = for_each([&](TaskRecord record) -> absl::Status {
    absl::StatusOr<bool> resumed_one =
        ResumeRecord(std::move(record), compiled, /*wait=*/true);
    if (!resumed_one.ok()) return resumed_one.status();
    if (*resumed_one) ++resumed;
    return absl::OkStatus();
  });
  if (!scanned.ok()) return scanned;
  return resumed;
}

std::vector<std::string> TaskService::ResumeClaimed(
    std::vector<TaskRecord> records) {
  std::vector<std::string> not_spawned;
  Executor::SpawnBatch batch(executor_);
  CompiledDefinitions compiled;
  for (TaskRecord& record : records) {
    std::string id = record.id;
    absl::StatusOr<bool> resumed =
        ResumeRecord(std::move(record), compiled, /*wait=*/false);
    if (absl::IsResourceExhausted(resumed.status()) ||
        absl::IsUnavailable(resumed.status())) {
      not_spawned.push_back(std::move(id));
    } else if (!resumed.ok()) {  // its FAILED record was refused
      spdlog::error("event=claimed_task_not_resumed task={} {}", LogValue(id),
                    LogStatus(resumed.status()));
    }
  }
  return not_spawned;
}

absl::StatusOr<bool> TaskService::ResumeRecord(TaskRecord record,
                                               CompiledDefinitions& compiled,
                                               bool wait) {
  const v1::TaskDefinition* key = record.definition.shared().get();
  absl::StatusOr<std::shared_ptr<const machine::Program>> program;
  if (auto it = compiled.find(key); it != compiled.end()) {
    program = it->second.second;
  } else {
    program = programs_.Get(*record.definition);
    if (program.ok() && key != nullptr) {
      if (compiled.size() >= 4096) compiled.clear();  // many distinct
      compiled.try_emplace(key, record.definition, *program);
    }
  }
  absl::Status resumed =
      program.ok()
          ? runner_.Resume(record, *std::move(program),
                           admission_.Restore(
                               SplitNamespacedKey(record.id).namespace_name))
          : Prefixed("its recorded definition no longer compiles",
                     program.status());
  if (absl::IsResourceExhausted(resumed) || absl::IsUnavailable(resumed)) {
    return resumed;  // the daemon's trouble, not the task's
  }
  if (resumed.ok()) return true;
  absl::Status failed = FailUnresumable(std::move(record), resumed, wait);
  if (!failed.ok()) return failed;
  return false;
}

void TaskService::RouteToOwners(ClusterStore& cluster, DelayedCalls& timer) {
  runner_.RouteToOwners(
      {.cluster = &cluster, .programs = &programs_, .timer = &timer});
}

absl::Status TaskService::FailUnresumable(TaskRecord record,
                                          const absl::Status& why, bool wait) {
  std::string error = absl::StrCat(
      "the daemon could not resume this task after a restart: ", why.message());
  spdlog::warn("event=task_not_resumed task={} action=failed {}",
               LogValue(record.id), LogStatus(why));
  TaskProgress progress;
  progress.snapshot = std::move(record.snapshot);
  progress.snapshot.set_status(v1::TASK_STATUS_FAILED);
  progress.snapshot.set_error(error);
  progress.events.push_back(
      TransitionEvent(progress.snapshot.state(), v1::TASK_STATUS_FAILED));
  v1::TaskResult* result = progress.events.emplace_back().mutable_finished();
  result->set_status(v1::TASK_STATUS_FAILED);
  result->set_error(std::move(error));
  const absl::Time now = executor_.clock()->Now();
  for (v1::TaskEvent& event : progress.events) {
    *event.mutable_time() = machine::ToProtoTimestamp(now);
  }
  progress.finished_at = now;
  progress.durable = true;  // the next start must not resume it again
  if (!wait) {
    // A claim must not wait for the store (LeaseKeeper resumes under the
    // lock its deadline's abandon takes); a write that fails leaves the
    // task unfinished, for the next claim to try again.
    store_.RecordProgressAsync(
        record.id, std::move(progress),
        [id = record.id](const absl::StatusOr<uint64_t>& last) {
          if (!last.ok()) {
            spdlog::error("event=task_not_resumed task={} action=none {}",
                          LogValue(id), LogStatus(last.status()));
          }
        });
    return absl::OkStatus();
  }
  // Recovery runs before serving: waiting here for the write holds up no
  // request (and this thread is not the store's).
  absl::Notification stored;
  absl::Status written;
  store_.RecordProgressAsync(record.id, std::move(progress),
                             [&](const absl::StatusOr<uint64_t>& last) {
                               written = last.status();
                               stored.Notify();
                             });
  stored.WaitForNotification();
  return written;
}

std::string TaskService::NewTaskId() {
  return absl::StrCat(absl::Hex(id_salt_, absl::kZeroPad16),
                      absl::Hex(next_id_.fetch_add(1), absl::kZeroPad8));
}

}  // namespace corosched::server
