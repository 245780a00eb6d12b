#include "client/definition_json_errors.h"

#include <algorithm>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "corosched/v1/task_definition.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/descriptor.pb.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace corosched {
namespace {

namespace pb = ::google::protobuf;

// The most bytes of the user's text an error shows.
constexpr size_t kMaxShownBytes = 128;

// `text` in double quotes, C-escaped, cut after kMaxShownBytes with its
// length said: the daemon's way of echoing input (core/quote.h), which the
// client may not include.
std::string Quoted(absl::string_view text) {
  if (text.size() <= kMaxShownBytes) {
    return absl::StrCat("\"", absl::CHexEscape(text), "\"");
  }
  return absl::StrCat("\"", absl::CHexEscape(text.substr(0, kMaxShownBytes)),
                      "...\" (", text.size(), " bytes)");
}

// A fragment of the JSON that protobuf's message quotes: as protobuf wrote
// it when short, cut by Quoted when long.
std::string Fragment(absl::string_view text) {
  return text.size() <= kMaxShownBytes ? std::string(text) : Quoted(text);
}

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
    const pb::FieldDescriptor* field =
        type != nullptr ? FindField(type, name) : nullptr;
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
  const pb::EnumDescriptor* enumeration =
      pb::DescriptorPool::generated_pool()->FindEnumTypeByName(
          std::string(type));
  if (enumeration != nullptr) {
    std::vector<std::string> names;
    names.reserve(enumeration->value_count());
    for (int i = 0; i < enumeration->value_count(); ++i) {
      names.push_back(absl::StrCat("\"", enumeration->value(i)->name(), "\""));
    }
    return absl::StrCat("one of ", absl::StrJoin(names, ", "));
  }
  return std::string(type);
}

std::string ExplainDetail(const std::string& detail,
                          const pb::Descriptor* leaf) {
  absl::string_view text = detail;
  if (absl::ConsumeSuffix(&text, ": Cannot find field.")) {
    std::string message = absl::StrCat("unknown field ", Quoted(text));
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
  if (!pb::util::JsonStringToMessage(pb::StringPiece(json.data(), json.size()),
                                     &whole)
           .ok()) {
    return std::nullopt;
  }
  auto states = whole.fields().find("states");
  if (states == whole.fields().end() || !states->second.has_struct_value()) {
    return std::nullopt;
  }
  const auto& fields = states->second.struct_value().fields();
  std::vector<std::string> keys;
  for (const auto& [key, value] : fields) keys.push_back(key);
  std::sort(keys.begin(), keys.end());
  for (const std::string& key : keys) {
    std::string state_json;
    if (!pb::util::MessageToJsonString(fields.at(key), &state_json).ok()) {
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

}  // namespace

std::string ExplainDefinitionJsonError(absl::string_view json,
                                       absl::string_view protobuf_message) {
  ParseError error = SplitParseError(protobuf_message);
  std::string path;
  const pb::Descriptor* leaf = nullptr;
  std::optional<std::pair<std::string, ParseError>> failing_state;
  if (absl::StartsWith(error.location, "states[")) {
    failing_state = FindFailingState(json);
  }
  if (failing_state.has_value() &&
      !absl::StrContains(failing_state->second.detail, "Root element")) {
    path = absl::StrCat("states[", Quoted(failing_state->first), "]");
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

}  // namespace corosched
