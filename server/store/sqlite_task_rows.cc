#include "server/store/sqlite_task_rows.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/quote.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "server/store/store_keys.h"

namespace corosched::server {
namespace {

absl::Status Unparsable(absl::string_view id, absl::string_view what) {
  return absl::DataLossError(absl::StrCat(
      "task ", QuoteInput(id), ": its stored ", what,
      " cannot be parsed; the database is damaged or was written by an "
      "incompatible build"));
}

}  // namespace

bool ParseStored(absl::string_view bytes,
                 google::protobuf::MessageLite& message) {
  return message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

namespace {
// Field 1, length-delimited: the tag of each event in a run.
constexpr uint32_t kEventRunTag = (1 << 3) | 2;
}  // namespace

std::string EncodeEventRun(const std::vector<v1::TaskEvent>& events) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream raw(&out);
    google::protobuf::io::CodedOutputStream coded(&raw);
    for (const v1::TaskEvent& event : events) {
      coded.WriteTag(kEventRunTag);
      coded.WriteVarint32(static_cast<uint32_t>(event.ByteSizeLong()));
      event.SerializeWithCachedSizes(&coded);
    }
  }  // the coded stream flushes into `out` here
  return out;
}

bool DecodeEventRow(int encoding, absl::string_view bytes,
                    std::vector<v1::TaskEvent>& out) {
  if (encoding == kSingleEvent) return ParseStored(bytes, out.emplace_back());
  if (encoding != kEventRun) return false;
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  for (;;) {
    const uint32_t tag = in.ReadTag();
    if (tag == 0) return in.ConsumedEntireMessage();  // the end, or garbage
    uint32_t length = 0;
    if (tag != kEventRunTag || !in.ReadVarint32(&length)) return false;
    // The stream would take the end of the bytes for the end of the event.
    if (length > bytes.size() - static_cast<size_t>(in.CurrentPosition())) {
      return false;
    }
    const auto limit = in.PushLimit(static_cast<int>(length));
    if (!out.emplace_back().ParseFromCodedStream(&in) ||
        !in.ConsumedEntireMessage()) {
      return false;
    }
    in.PopLimit(limit);
  }
}

int64_t ToStoredTime(absl::Time time) { return absl::ToUnixNanos(time); }

absl::Time FromStoredTime(int64_t nanos) { return absl::FromUnixNanos(nanos); }

std::string EncodeInputsAndLabels(const TaskRecord& record) {
  v1::SubmitTaskRequest holder;
  *holder.mutable_inputs() = record.inputs;
  holder.mutable_labels()->insert(record.labels.begin(), record.labels.end());
  return DeterministicBytes(holder);
}

int64_t DefinitionDigest(absl::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return static_cast<int64_t>(hash);  // SQLite integers are signed
}

absl::StatusOr<TaskRecord> ReadTaskRow(const SqliteStatement& row,
                                       ParsedDefinitions* parsed) {
  TaskRecord record;
  record.id = std::string(row.Text(1));
  record.request_fingerprint = std::string(row.Blob(2));
  const int64_t definition_id = row.Int(10);
  if (parsed != nullptr) {
    if (auto known = parsed->find(definition_id); known != parsed->end()) {
      record.definition = known->second;
    }
  }
  if (record.definition.shared() == nullptr) {
    v1::TaskDefinition definition;
    if (!ParseStored(row.Blob(3), definition)) {
      return Unparsable(record.id, "definition");
    }
    record.definition = std::move(definition);
    if (parsed != nullptr) {
      if (parsed->size() >= 4096) parsed->clear();  // many distinct ones
      parsed->emplace(definition_id, record.definition);
    }
  }
  v1::SubmitTaskRequest holder;
  if (!ParseStored(row.Blob(4), holder)) {
    return Unparsable(record.id, "inputs and labels");
  }
  record.inputs.swap(*holder.mutable_inputs());
  record.labels.insert(holder.labels().begin(), holder.labels().end());
  record.created_at = FromStoredTime(row.Int(5));
  if (!row.IsNull(6)) record.start_at = FromStoredTime(row.Int(6));
  if (!row.IsNull(7)) record.finished_at = FromStoredTime(row.Int(7));
  if (!ParseStored(row.Blob(8), record.snapshot)) {
    return Unparsable(record.id, "snapshot");
  }
  record.last_event_sequence = static_cast<uint64_t>(row.Int(9));
  return record;
}

}  // namespace corosched::server
