#include "core/machine/definition_json.h"

#include <algorithm>
#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "core/machine/definition_paths.h"
#include "core/machine/validator.h"
#include "core/quote.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace corosched::machine {
namespace {

namespace pb = ::google::protobuf;

// A protobuf JSON parser error split into where and what, e.g.
// "(states[0].value.sleep.duration): invalid value ..." or
// "(states[0].value) yeild: Cannot find field.".
struct ParseError {
  std::string location;  // protobuf's path, proto field names; may be empty
  std::string detail;
};

ParseError SplitParseError(absl::string_view raw) {
  ParseError error;
  if (absl::ConsumePrefix(&raw, "(")) {
    const size_t close = raw.find(')');
    if (close != absl::string_view::npos) {
      error.location = std::string(raw.substr(0, close));
      raw.remove_prefix(close + 1);
    }
  }
  absl::ConsumePrefix(&raw, ":");
  error.detail = std::string(absl::StripLeadingAsciiWhitespace(raw));
  return error;
}

pb::StringPiece Piece(absl::string_view text) {
  return pb::StringPiece(text.data(), text.size());
}

// The field of `type` called `name` in proto or JSON spelling.
const pb::FieldDescriptor* FindField(const pb::Descriptor* type,
                                     absl::string_view name) {
  for (int i = 0; i < type->field_count(); ++i) {
    const pb::FieldDescriptor* field = type->field(i);
    if (field->name() == name || field->json_name() == name) return field;
  }
  return nullptr;
}

// `location` relative to `root` with JSON field names; map entries show as
// `[#N]` (N-th entry, from 1). Sets `*leaf` to the message type the location
// ends in (nullptr when it ends in a scalar or cannot be followed).
std::string RenderLocation(const pb::Descriptor* root,
                           absl::string_view location,
                           const pb::Descriptor** leaf) {
  std::string out;
  const pb::Descriptor* type = root;
  for (absl::string_view segment :
       absl::StrSplit(location, '.', absl::SkipEmpty())) {
    absl::string_view name = segment.substr(0, segment.find('['));
    absl::string_view index = segment.substr(name.size());
    if (type != nullptr && type->options().map_entry() && name == "value") {
      type = type->FindFieldByName("value")->message_type();
      continue;
    }
    const pb::FieldDescriptor* field = nullptr;
    if (type != nullptr) {
      field = FindField(type, name);
    }
    absl::StrAppend(&out, out.empty() ? "" : ".",
                    field != nullptr ? field->json_name() : std::string(name));
    if (field != nullptr && field->is_map() && index.size() > 2) {
      int n = 0;
      if (absl::SimpleAtoi(index.substr(1, index.size() - 2), &n)) {
        absl::StrAppend(&out, "[#", n + 1, "]");
      }
    } else {
      absl::StrAppend(&out, index);
    }
    type = field != nullptr ? field->message_type() : nullptr;
  }
  *leaf = type;
  return out;
}

std::string FieldList(const pb::Descriptor* type) {
  std::vector<std::string> names;
  names.reserve(type->field_count());
  for (int i = 0; i < type->field_count(); ++i) {
    names.push_back(type->field(i)->json_name());
  }
  return absl::StrJoin(names, ", ");
}

// What protobuf's "for type T" expects, in words.
std::string DescribeType(absl::string_view type) {
  if (type == "TYPE_STRING") return "a string";
  if (type == "TYPE_DOUBLE") return "a number";
  if (type == "TYPE_BOOL") return "true or false";
  if (absl::EndsWith(type, "google.protobuf.Duration")) {
    return "a duration: seconds as a string, e.g. \"1.5s\" or \"0.25s\"";
  }
  if (absl::ConsumePrefix(&type, "type.googleapis.com/")) {
    const pb::Descriptor* message =
        pb::DescriptorPool::generated_pool()->FindMessageTypeByName(
            std::string(type));
    if (message != nullptr) {
      return absl::StrCat("an object with fields ", FieldList(message));
    }
  }
  if (type == "Map") return "an object";
  return std::string(type);
}

// A fragment of the JSON that protobuf's message quotes: as protobuf wrote
// it when short, cut by QuoteInput when long.
std::string Fragment(absl::string_view text) {
  return text.size() <= kMaxQuotedInputBytes ? std::string(text)
                                             : QuoteInput(text);
}

std::string ExplainDetail(const std::string& detail,
                          const pb::Descriptor* leaf) {
  absl::string_view text = detail;
  if (absl::ConsumeSuffix(&text, ": Cannot find field.")) {
    std::string message = absl::StrCat("unknown field ", QuoteInput(text));
    if (leaf != nullptr) {
      absl::StrAppend(&message, "; ", leaf->name(), " has fields ",
                      FieldList(leaf));
    }
    return message;
  }
  if (absl::ConsumePrefix(&text, "invalid value ")) {
    const size_t for_type = text.rfind(" for type ");
    if (for_type != absl::string_view::npos) {
      return absl::StrCat("invalid value ", Fragment(text.substr(0, for_type)),
                          "; expected ",
                          DescribeType(text.substr(for_type + 10)));
    }
  }
  const size_t repeated = text.find("Repeated map key: ");
  if (repeated != absl::string_view::npos) {
    absl::string_view key = text.substr(repeated + 18);
    absl::ConsumeSuffix(&key, " is already set.");
    return absl::StrCat("key ", Fragment(key),
                        " appears twice; every name in a map must be unique");
  }
  return Fragment(detail);
}

// Protobuf locates errors inside `states` by entry number; parse each state
// on its own to name the failing one by its key instead.
std::optional<std::pair<std::string, ParseError>> FindFailingState(
    absl::string_view json) {
  pb::Struct whole;
  if (!pb::util::JsonStringToMessage(Piece(json), &whole).ok())
    return std::nullopt;
  auto states = whole.fields().find("states");
  if (states == whole.fields().end() || !states->second.has_struct_value()) {
    return std::nullopt;
  }
  std::vector<std::string> keys;
  for (const auto& [key, value] : states->second.struct_value().fields()) {
    keys.push_back(key);
  }
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) {
    std::string state_json;
    if (!pb::util::MessageToJsonString(
             states->second.struct_value().fields().at(key), &state_json)
             .ok()) {
      continue;
    }
    v1::State state;
    pb::util::Status status = pb::util::JsonStringToMessage(state_json, &state);
    if (!status.ok()) {
      return std::make_pair(key, SplitParseError(status.message().ToString()));
    }
  }
  return std::nullopt;
}

std::string ExplainParseError(absl::string_view json, absl::string_view raw) {
  ParseError error = SplitParseError(raw);
  std::string path;
  const pb::Descriptor* leaf = nullptr;
  std::optional<std::pair<std::string, ParseError>> failing_state;
  if (absl::StartsWith(error.location, "states[")) {
    failing_state = FindFailingState(json);
  }
  if (failing_state.has_value() &&
      !absl::StrContains(failing_state->second.detail, "Root element")) {
    path = internal::StatePath(failing_state->first);
    std::string below = RenderLocation(v1::State::descriptor(),
                                       failing_state->second.location, &leaf);
    if (!below.empty()) absl::StrAppend(&path, ".", below);
    error.detail = failing_state->second.detail;
  } else {
    path =
        RenderLocation(v1::TaskDefinition::descriptor(), error.location, &leaf);
  }
  std::string explained = ExplainDetail(error.detail, leaf);
  return path.empty() ? explained : absl::StrCat(path, ": ", explained);
}

}  // namespace

absl::StatusOr<v1::TaskDefinition> ParseDefinitionJson(
    absl::string_view json, const MachineLimits& limits) {
  if (json.size() > limits.max_definition_json_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "task definition JSON is ", json.size(), " bytes; the limit is ",
        limits.max_definition_json_bytes));
  }
  v1::TaskDefinition definition;
  pb::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  pb::util::Status status = pb::util::JsonStringToMessage(
      pb::StringPiece(json.data(), json.size()), &definition, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "task definition JSON: ",
        ExplainParseError(json, status.message().ToString()),
        " (the language is described in docs/task-definitions.md)"));
  }
  return definition;
}

absl::StatusOr<v1::TaskDefinition> LoadDefinitionJson(
    absl::string_view json, const MachineLimits& limits) {
  absl::StatusOr<v1::TaskDefinition> definition =
      ParseDefinitionJson(json, limits);
  if (!definition.ok()) return definition.status();
  absl::Status valid = ValidateDefinition(*definition, limits);
  if (!valid.ok()) return valid;
  return definition;
}

std::string DefinitionToJson(const v1::TaskDefinition& definition) {
  std::string json;
  pb::util::JsonPrintOptions options;
  options.add_whitespace = true;
  // A definition always converts; the status only reports I/O failures.
  (void)pb::util::MessageToJsonString(definition, &json, options);
  return json;
}

}  // namespace corosched::machine
