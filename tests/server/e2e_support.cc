#include "tests/server/e2e_support.h"

#include <fstream>
#include <sstream>

#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace corosched::e2e {

v1::TaskDefinition LoadExample(const std::string& file) {
  const std::string path =
      std::string(COROSCHED_SOURCE_DIR) + "/examples/" + file;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  v1::TaskDefinition definition;
  auto parsed =
      google::protobuf::util::JsonStringToMessage(text.str(), &definition);
  EXPECT_TRUE(parsed.ok()) << path << ": " << parsed.ToString();
  return definition;
}

v1::TaskDefinition ShortApproval(absl::Duration request_timeout,
                                 absl::Duration escalate_timeout) {
  v1::TaskDefinition definition = LoadExample("approval.json");
  auto& states = *definition.mutable_states();
  EXPECT_TRUE(states.contains("REQUEST") && states.contains("ESCALATE"));
  *states["REQUEST"].mutable_await()->mutable_timeout() =
      google::protobuf::util::TimeUtil::MillisecondsToDuration(
          absl::ToInt64Milliseconds(request_timeout));
  *states["ESCALATE"].mutable_await()->mutable_timeout() =
      google::protobuf::util::TimeUtil::MillisecondsToDuration(
          absl::ToInt64Milliseconds(escalate_timeout));
  return definition;
}

v1::TaskDefinition AwaitGo() {
  v1::TaskDefinition definition;
  definition.set_name("await-go");
  definition.set_initial("WAIT");
  auto& states = *definition.mutable_states();
  states["WAIT"].set_emit("waiting\n");
  (*states["WAIT"].mutable_await()->mutable_signals())["go"] = "DONE";
  states["DONE"].mutable_complete()->set_result("went");
  return definition;
}

v1::TaskDefinition SleepThenAwaitGo(absl::Duration duration) {
  v1::TaskDefinition definition = AwaitGo();
  definition.set_name("sleep-then-await-go");
  definition.set_initial("NAP");
  v1::State& nap = (*definition.mutable_states())["NAP"];
  *nap.mutable_sleep()->mutable_duration() =
      google::protobuf::util::TimeUtil::MillisecondsToDuration(
          absl::ToInt64Milliseconds(duration));
  nap.mutable_sleep()->set_next("WAIT");
  return definition;
}

v1::Value Text(const std::string& text) {
  v1::Value value;
  value.set_string(text);
  return value;
}

std::unique_ptr<grpc::ClientContext> Deadline(absl::Duration timeout) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return context;
}

WatchResult Watch(v1::Scheduler::Stub& stub, const std::string& task_id,
                  uint64_t after_sequence, absl::Duration timeout) {
  auto context = Deadline(timeout);
  v1::WatchTaskRequest request;
  request.set_task_id(task_id);
  request.set_after_sequence(after_sequence);
  auto reader = stub.WatchTask(context.get(), request);
  WatchResult result;
  v1::TaskEvent event;
  while (reader->Read(&event)) result.events.push_back(event);
  result.status = reader->Finish();
  return result;
}

std::string OutputText(const std::vector<v1::TaskEvent>& events) {
  std::string text;
  for (const v1::TaskEvent& event : events) {
    if (event.has_output()) text += event.output().text();
  }
  return text;
}

bool WaitFor(const std::function<bool()>& condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return true;
}

v1::Task GetTask(v1::Scheduler::Stub& stub, const std::string& task_id) {
  v1::GetTaskRequest request;
  request.set_task_id(task_id);
  v1::Task task;
  grpc::Status status = stub.GetTask(Deadline().get(), request, &task);
  return status.ok() ? task : v1::Task();
}

v1::Task Submit(v1::Scheduler::Stub& stub, const v1::TaskDefinition& definition,
                const std::map<std::string, std::string>& inputs,
                const std::map<std::string, std::string>& labels) {
  v1::SubmitTaskRequest request;
  *request.mutable_definition() = definition;
  for (const auto& [name, value] : inputs) {
    (*request.mutable_inputs())[name] = Text(value);
  }
  request.mutable_labels()->insert(labels.begin(), labels.end());
  v1::SubmitTaskResponse response;
  grpc::Status status = stub.SubmitTask(Deadline().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.task();
}

void DaemonTest::SetUp() {
  // A short drain, so stopping a daemon with tasks still awaiting is quick;
  // DaemonArgs() come after and may override it.
  std::vector<std::string> args = {"--drain-timeout", "1s"};
  for (std::string& arg : DaemonArgs()) args.push_back(std::move(arg));
  auto server = testing::ServerProcess::Start({.args = std::move(args)});
  ASSERT_TRUE(server.ok()) << server.status();
  server_ = *std::move(server);
  channel_ = server_->NewChannel();
  stub_ = v1::Scheduler::NewStub(channel_);
}

void DaemonTest::TearDown() {
  if (server_ == nullptr) return;
  stub_.reset();
  channel_.reset();
  absl::StatusOr<int> code = server_->Stop();
  ASSERT_TRUE(code.ok()) << code.status() << "\n" << server_->Stderr();
  EXPECT_EQ(*code, 0) << server_->Stderr();
}

}  // namespace corosched::e2e
