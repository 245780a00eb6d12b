#include "client/cli/format.h"

#include <algorithm>
#include <map>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "client/cli/values.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/time_util.h"

namespace corosched::cli {
namespace {

using ::google::protobuf::util::TimeUtil;

// A string shown in a line: quoted with JSON-style escapes, so spaces and
// newlines cannot break the line apart.
std::string Quoted(absl::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          absl::StrAppend(&out, "\\u00",
                          absl::Hex(static_cast<int>(c), absl::kZeroPad2));
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

// `json` on one line, object keys sorted (protobuf maps are unordered),
// strings quoted as Quoted does.
void AppendJson(const google::protobuf::Value& json, std::string* out) {
  switch (json.kind_case()) {
    case google::protobuf::Value::kStringValue:
      out->append(Quoted(json.string_value()));
      break;
    case google::protobuf::Value::kNumberValue:
      absl::StrAppend(out, json.number_value());
      break;
    case google::protobuf::Value::kBoolValue:
      out->append(json.bool_value() ? "true" : "false");
      break;
    case google::protobuf::Value::kListValue: {
      out->push_back('[');
      bool first = true;
      for (const auto& item : json.list_value().values()) {
        if (!std::exchange(first, false)) out->push_back(',');
        AppendJson(item, out);
      }
      out->push_back(']');
      break;
    }
    case google::protobuf::Value::kStructValue: {
      const auto& fields = json.struct_value().fields();
      std::map<std::string, const google::protobuf::Value*> sorted;
      for (const auto& [key, value] : fields) sorted[key] = &value;
      out->push_back('{');
      bool first = true;
      for (const auto& [key, value] : sorted) {
        if (!std::exchange(first, false)) out->push_back(',');
        absl::StrAppend(out, Quoted(key), ":");
        AppendJson(*value, out);
      }
      out->push_back('}');
      break;
    }
    default:
      out->append("null");
      break;
  }
}

// Sorted, so output is stable across runs (protobuf maps are unordered).
template <typename Map>
std::string JoinMap(const Map& map, absl::string_view separator,
                    std::string (*show)(const typename Map::mapped_type&)) {
  std::vector<std::string> items;
  items.reserve(map.size());
  for (const auto& [key, value] : map) {
    items.push_back(absl::StrCat(key, "=", show(value)));
  }
  std::sort(items.begin(), items.end());
  return absl::StrJoin(items, separator);
}

std::string Plain(const std::string& text) { return text; }
std::string Number(const uint64_t& n) { return absl::StrCat(n); }

std::string Time(const google::protobuf::Timestamp& time) {
  return TimeUtil::ToString(time);
}

// How long the queue's oldest item has waited, to the millisecond
// ("1m15.25s"); "-" when no item waits.
std::string OldestAgeText(const v1::WorkQueueStats& queue) {
  if (queue.depth() == 0) return "-";
  const absl::Duration age = absl::Seconds(queue.oldest_age().seconds()) +
                             absl::Nanoseconds(queue.oldest_age().nanos());
  const absl::Duration shown = absl::Trunc(age, absl::Milliseconds(1));
  return shown <= absl::ZeroDuration() ? "0s" : absl::FormatDuration(shown);
}

// `rows` as columns two spaces apart, each line indented by two: the first
// column left-aligned, the others (numbers) right-aligned.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const std::vector<std::string>& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  std::string text;
  for (const std::vector<std::string>& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string pad(widths[i] - row[i].size(), ' ');
      absl::StrAppend(&line, "  ", i == 0 ? row[i] + pad : pad + row[i]);
    }
    absl::StrAppend(&text, absl::StripTrailingAsciiWhitespace(line), "\n");
  }
  return text;
}

// The lines of TaskDetails that show the task's current work attempt.
std::string WorkDetails(const v1::WorkAttempt& work) {
  std::string text = absl::StrCat("work:        queue ", work.queue(),
                                  ", attempt ", work.attempt(), "\n");
  if (work.has_lease()) {
    const v1::WorkLeaseRecord& lease = work.lease();
    absl::StrAppend(&text, "worker:      ", Quoted(lease.worker_identity()),
                    "\n", "leased:      ", Time(lease.started_at()), "\n");
    if (lease.has_heartbeat_deadline()) {
      absl::StrAppend(&text, "heartbeat:   due by ",
                      Time(lease.heartbeat_deadline()), "\n");
    }
    if (lease.has_timeout_deadline()) {
      absl::StrAppend(&text, "timeout:     ", Time(lease.timeout_deadline()),
                      "\n");
    }
    if (lease.cancel_requested()) {
      absl::StrAppend(&text,
                      "cancel:      requested (the worker hears it at its "
                      "next heartbeat)\n");
    }
  } else if (work.has_scheduled_at()) {
    absl::StrAppend(&text, "worker:      none yet (queued ",
                    Time(work.scheduled_at()), ")\n");
  } else {
    absl::StrAppend(&text,
                    "worker:      none (waiting to retry: see deadline)\n");
  }
  if (!work.last_error().empty()) {
    absl::StrAppend(&text, "last error:  ", work.last_error());
    if (!work.last_message().empty()) {
      absl::StrAppend(&text, " ", Quoted(work.last_message()));
    }
    absl::StrAppend(&text, "\n");
  }
  return text;
}

}  // namespace

std::string ValueText(const v1::Value& value) {
  switch (value.kind_case()) {
    case v1::Value::kString:
      return Quoted(value.string());
    case v1::Value::kNumber:
      return absl::StrCat(value.number());
    case v1::Value::kBool:
      return value.bool_() ? "true" : "false";
    case v1::Value::kJson: {
      std::string json;
      AppendJson(value.json(), &json);
      return json;
    }
    case v1::Value::KIND_NOT_SET:
      break;
  }
  return "(unset)";
}

std::string DefinitionText(absl::string_view name, absl::string_view version) {
  return version.empty() ? std::string(name) : absl::StrCat(name, "@", version);
}

std::string TaskLine(const v1::Task& task) {
  std::string line = absl::StrCat(
      task.id(), " status=", TaskStatusName(task.status()),
      " state=", task.state(), " definition=",
      DefinitionText(task.definition_name(), task.definition_version()));
  if (!task.labels().empty()) {
    absl::StrAppend(&line, " labels=", JoinMap(task.labels(), ",", Plain));
  }
  if (!task.result().empty()) {
    absl::StrAppend(&line, " result=", Quoted(task.result()));
  }
  if (!task.error().empty()) {
    absl::StrAppend(&line, " error=", Quoted(task.error()));
  }
  return line;
}

std::string TaskDetails(const v1::Task& task) {
  std::string text = absl::StrCat(
      "id:          ", task.id(), "\n", "namespace:   ",
      task.namespace_().empty() ? "default" : task.namespace_(), "\n",
      "definition:  ",
      DefinitionText(task.definition_name(), task.definition_version()), "\n",
      "status:      ", TaskStatusName(task.status()), "\n",
      "state:       ", task.state(), "\n");
  if (!task.labels().empty()) {
    absl::StrAppend(&text, "labels:      ", JoinMap(task.labels(), " ", Plain),
                    "\n");
  }
  if (!task.variables().empty()) {
    absl::StrAppend(&text,
                    "variables:   ", JoinMap(task.variables(), " ", ValueText),
                    "\n");
  }
  absl::StrAppend(&text, "mailbox:     ", task.mailbox_size(), " signal(s)\n");
  absl::StrAppend(&text, "created:     ", Time(task.created_at()), "\n");
  if (task.has_start_at()) {
    absl::StrAppend(&text, "start at:    ", Time(task.start_at()), "\n");
  }
  if (task.has_deadline()) {
    absl::StrAppend(&text, "deadline:    ", Time(task.deadline()), "\n");
  }
  if (task.has_finished_at()) {
    absl::StrAppend(&text, "finished:    ", Time(task.finished_at()), "\n");
  }
  if (task.has_work()) absl::StrAppend(&text, WorkDetails(task.work()));
  if (!task.result().empty()) {
    absl::StrAppend(&text, "result:      ", Quoted(task.result()), "\n");
  }
  if (!task.error().empty()) {
    absl::StrAppend(&text, "error:       ", Quoted(task.error()), "\n");
  }
  absl::StrAppend(&text, "last event:  ", task.last_event_sequence(), "\n");
  return text;
}

std::string DefinitionLine(const v1::DefinitionSummary& definition) {
  return absl::StrCat(DefinitionText(definition.name(), definition.version()),
                      "  registered ", Time(definition.registered_at()));
}

std::string ReceiptText(const v1::WakeTaskResponse& receipt) {
  std::string disposition = absl::AsciiStrToLower(
      v1::WakeTaskResponse::Disposition_Name(receipt.disposition()));
  std::string text =
      absl::StrCat(disposition, " (signal #", receipt.sequence());
  if (receipt.duplicate()) {
    absl::StrAppend(&text, ", duplicate request: not delivered again");
  }
  return text + ")";
}

std::string FinishedLine(absl::string_view task_id,
                         const v1::TaskResult& result) {
  std::string line =
      absl::StrCat("task ", task_id, " ",
                   absl::AsciiStrToLower(TaskStatusName(result.status())));
  if (!result.error().empty()) {
    absl::StrAppend(&line, ": ", result.error());
  } else if (!result.result().empty()) {
    absl::StrAppend(&line, ": ", result.result());
  }
  return line;
}

std::string StatsText(const v1::QueueStats& stats) {
  std::string text =
      absl::StrCat("run queue depth: ", stats.run_queue_depth(), " (injection ",
                   stats.injection_queue_depth(), ", workers ",
                   absl::StrJoin(stats.worker_queue_depths(), " "), ")\n",
                   "workers:         ", stats.workers(), "\n",
                   "admission:       ", stats.admission_in_use(), " of ",
                   stats.admission_capacity(), " in use\n");
  std::map<std::string, uint64_t> by_status;
  for (const auto& [name, count] : stats.tasks_by_status()) {
    absl::string_view shown = name;
    absl::ConsumePrefix(&shown, "TASK_STATUS_");
    by_status[std::string(shown)] = count;
  }
  absl::StrAppend(&text, "tasks:           ",
                  by_status.empty() ? "none" : JoinMap(by_status, " ", Number),
                  "\n");
  if (stats.work_queues().empty()) {
    absl::StrAppend(&text, "work queues:     none\n");
    return text;
  }
  std::vector<std::vector<std::string>> rows = {
      {"QUEUE", "DEPTH", "OLDEST", "POLLERS", "LEASED"}};
  for (const v1::WorkQueueStats& queue : stats.work_queues()) {
    rows.push_back({queue.queue(), absl::StrCat(queue.depth()),
                    OldestAgeText(queue), absl::StrCat(queue.pollers()),
                    absl::StrCat(queue.leased())});
  }
  absl::StrAppend(&text, "work queues:\n", Table(rows));
  return text;
}

}  // namespace corosched::cli
