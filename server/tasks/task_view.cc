#include "server/tasks/task_view.h"

#include "core/machine/proto_time.h"
#include "server/store/namespace_keys.h"

namespace corosched::server {

v1::Task ToTaskMessage(const TaskRecord& record) {
  const v1::TaskSnapshot& snapshot = record.snapshot;
  v1::Task task;
  const KeyParts key = SplitNamespacedKey(record.id);
  task.set_id(std::string(key.name));
  task.set_namespace_(std::string(key.namespace_name));
  task.set_definition_name(record.definition->name());
  task.set_definition_version(record.definition->version());
  task.set_status(snapshot.status());
  task.set_state(snapshot.state());
  task.mutable_labels()->insert(record.labels.begin(), record.labels.end());
  *task.mutable_variables() = snapshot.variables();
  task.set_mailbox_size(snapshot.mailbox_size());
  *task.mutable_created_at() = machine::ToProtoTimestamp(record.created_at);
  if (record.start_at.has_value()) {
    *task.mutable_start_at() = machine::ToProtoTimestamp(*record.start_at);
  }
  if (record.finished_at.has_value()) {
    *task.mutable_finished_at() =
        machine::ToProtoTimestamp(*record.finished_at);
  }
  if (snapshot.has_deadline()) *task.mutable_deadline() = snapshot.deadline();
  task.set_result(snapshot.result());
  task.set_error(snapshot.error());
  task.set_last_event_sequence(record.last_event_sequence);
  if (snapshot.has_work()) {
    *task.mutable_work() = snapshot.work();
    // The nonce is the secret half of the worker's token: never shown.
    task.mutable_work()->mutable_lease()->clear_nonce();
    if (!snapshot.work().has_lease()) task.mutable_work()->clear_lease();
  }
  return task;
}

v1::DefinitionSummary ToDefinitionSummary(const DefinitionRecord& record) {
  v1::DefinitionSummary summary;
  summary.set_name(std::string(LocalName(record.definition.name())));
  summary.set_version(record.definition.version());
  *summary.mutable_registered_at() =
      machine::ToProtoTimestamp(record.registered_at);
  return summary;
}

}  // namespace corosched::server
