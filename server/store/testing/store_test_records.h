#pragma once

// Records the store tests build, shared by the tests of both stores.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "server/store/task_store.h"

namespace corosched::server::test_records {

inline const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

inline v1::TaskDefinition Definition(const std::string& name,
                                     const std::string& version,
                                     const std::string& emit = "hi") {
  v1::TaskDefinition definition;
  definition.set_name(name);
  definition.set_version(version);
  definition.set_initial("A");
  v1::State& a = (*definition.mutable_states())["A"];
  a.set_emit(emit);
  a.mutable_complete();
  return definition;
}

inline TaskRecord Task(const std::string& id, v1::TaskStatus status,
                       const std::string& definition = "hello",
                       std::map<std::string, std::string> labels = {}) {
  TaskRecord record;
  record.id = id;
  record.definition = Definition(definition, "1");
  record.labels = std::move(labels);
  record.created_at = kT0;
  record.snapshot.set_definition_name(definition);
  record.snapshot.set_status(status);
  record.snapshot.set_state("A");
  return record;
}

inline v1::TaskEvent Output(const std::string& text) {
  v1::TaskEvent event;
  event.mutable_output()->set_text(text);
  return event;
}

inline v1::TaskEvent Finished(v1::TaskStatus status) {
  v1::TaskEvent event;
  event.mutable_finished()->set_status(status);
  return event;
}

// The progress that ends a task at `at`.
inline TaskProgress Finish(v1::TaskStatus status, absl::Time at) {
  TaskProgress progress;
  progress.snapshot.set_status(status);
  progress.events = {Finished(status)};
  progress.finished_at = at;
  return progress;
}

inline std::vector<std::string> Ids(const TaskPage& page) {
  std::vector<std::string> ids;
  for (const TaskRecord& record : page.tasks) ids.push_back(record.id);
  return ids;
}

}  // namespace corosched::server::test_records
