#pragma once

#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "corosched/v1/task_definition.pb.h"
#include "google/protobuf/struct.pb.h"

namespace corosched::machine {

// A null, a list or an object: a JSON value that is not a string, a number or
// a bool. Shares one immutable google.protobuf.Value, so copies are cheap.
// Invariants: `json` is never null; it holds a null_value, list_value or
// struct_value, and everything inside it passed CheckJson (finite numbers,
// every kind set, at most kMaxValueDepth deep), with strings, numbers and
// bools inside as they are.
struct StructuredValue {
  std::shared_ptr<const google::protobuf::Value> json;

  // Deep equality: the same kind, equal numbers, strings and bools, lists
  // item by item, objects with the same keys and equal values.
  friend bool operator==(const StructuredValue& a, const StructuredValue& b);
};

// A task variable's value: a string, a number (double), a bool, or a
// structured value (null, list, object). The type of a variable is the type
// of the value it holds now.
using Value = std::variant<std::string, double, bool, StructuredValue>;

// What an error says of a NaN or an infinity. A task holds only finite
// numbers: they are refused wherever a number enters (inputs, signal
// payloads, definition literals, inside lists and objects too), and an `add`
// that would reach one fails the task. A countdown from +inf would never end.
inline constexpr absl::string_view kNotFiniteNumber =
    "NaN and infinities are not numbers a task can hold";

// How deep lists and objects may nest in one value: a top-level object or
// list is depth 1, each list or object inside adds one.
inline constexpr int kMaxValueDepth = 32;

// A task's variables by name.
using Variables = absl::flat_hash_map<std::string, Value>;

// "string", "number", "bool", "null", "list" or "object".
absl::string_view TypeName(const Value& value);
// `type` (a TypeName) with its article: "a string", "an object".
std::string WithArticle(absl::string_view type);
// The same names for a JSON value; "none" when no kind is set.
absl::string_view JsonTypeName(const google::protobuf::Value& json);

// Appends `value` as text, the way `emit` shows it: strings as they are,
// bools as true/false, numbers without a fraction as integers ("3"), others
// in the shortest form that reads back to the same double ("0.1"); nulls,
// lists and objects as compact JSON with object keys in sorted order and
// numbers as above ({"a":[1,0.5],"b":null}).
void AppendValue(const Value& value, std::string* out);

// Bytes of `value` as AppendValue shows it; what max_value_bytes bounds.
size_t ValueBytes(const Value& value);

// OK when `json` can be held by a task: every kind set, numbers finite,
// lists and objects at most kMaxValueDepth deep. Otherwise INVALID_ARGUMENT
// saying where inside, e.g. `at .items[2]: NaN and infinities ...`.
absl::Status CheckJson(const google::protobuf::Value& json);

// `json` as a Value: a JSON string, number or bool becomes that scalar kind,
// anything else a StructuredValue. Errors as CheckJson's.
absl::StatusOr<Value> ValueFromJson(const google::protobuf::Value& json);

// The proto form, checked as ValueFromJson checks `json`; INVALID_ARGUMENT
// when no kind is set or the value is one a task cannot hold.
absl::StatusOr<Value> ParseValue(const v1::Value& proto);
// ParseValue without the reason: nullopt when it fails.
std::optional<Value> ValueFromProto(const v1::Value& proto);
// The proto form: scalars as their own kinds, structured values as `json`.
v1::Value ValueToProto(const Value& value);
// `value` as a JSON value.
google::protobuf::Value ValueToJson(const Value& value);

}  // namespace corosched::machine
