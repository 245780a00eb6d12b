#pragma once

// Conversions between the store's records and the API's messages.

#include "corosched/v1/scheduler.pb.h"
#include "server/store/task_store.h"

namespace corosched::server {

// The v1::Task a client sees for `record`.
v1::Task ToTaskMessage(const TaskRecord& record);

// The v1::DefinitionSummary for `record`.
v1::DefinitionSummary ToDefinitionSummary(const DefinitionRecord& record);

}  // namespace corosched::server
