#pragma once

#include <optional>
#include <string>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "corosched/v1/task_definition.pb.h"

namespace corosched::machine {

// A task variable's value: a string, a number (double) or a bool. The type of a
// variable is the type of the value it holds now.
using Value = std::variant<std::string, double, bool>;

// What an error says of a NaN or an infinity. A task holds only finite
// numbers: they are refused wherever a number enters (inputs, signal
// payloads, definition literals), and an `add` that would reach one fails
// the task. A countdown from +inf would never end.
inline constexpr absl::string_view kNotFiniteNumber =
    "NaN and infinities are not numbers a task can hold";

// A task's variables by name.
using Variables = absl::flat_hash_map<std::string, Value>;

// "string", "number" or "bool".
absl::string_view TypeName(const Value& value);

// Appends `value` as text, the way `emit` shows it: strings as they are,
// bools as true/false, numbers without a fraction as integers ("3"), others
// in the shortest form that reads back to the same double ("0.1").
void AppendValue(const Value& value, std::string* out);

// The proto form; nullopt when no kind is set.
std::optional<Value> ValueFromProto(const v1::Value& proto);
v1::Value ValueToProto(const Value& value);

}  // namespace corosched::machine
