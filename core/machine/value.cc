#include "core/machine/value.h"

#include <charconv>
#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"

namespace corosched::machine {
namespace {

struct TypeNameOf {
  absl::string_view operator()(const std::string&) const { return "string"; }
  absl::string_view operator()(double) const { return "number"; }
  absl::string_view operator()(bool) const { return "bool"; }
};

void AppendNumber(double number, std::string* out) {
  // Integral values inside the range where doubles count exactly print as
  // integers, so a counter shows "3", not "3.0" or "3e+00".
  constexpr double kExactIntegers = 9007199254740992.0;  // 2^53
  if (std::trunc(number) == number && std::fabs(number) < kExactIntegers) {
    absl::StrAppend(out, static_cast<int64_t>(number));
    return;
  }
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof(buffer), number);
  if (error != std::errc()) {
    absl::StrAppend(out, number);  // unreachable for finite doubles
    return;
  }
  out->append(buffer, end);
}

}  // namespace

absl::string_view TypeName(const Value& value) {
  return std::visit(TypeNameOf{}, value);
}

void AppendValue(const Value& value, std::string* out) {
  if (const auto* text = std::get_if<std::string>(&value)) {
    out->append(*text);
  } else if (const auto* number = std::get_if<double>(&value)) {
    AppendNumber(*number, out);
  } else {
    out->append(std::get<bool>(value) ? "true" : "false");
  }
}

std::optional<Value> ValueFromProto(const v1::Value& proto) {
  switch (proto.kind_case()) {
    case v1::Value::kString:
      return Value(proto.string());
    case v1::Value::kNumber:
      return Value(proto.number());
    case v1::Value::kBool:
      return Value(proto.bool_());
    case v1::Value::KIND_NOT_SET:
      break;
  }
  return std::nullopt;
}

v1::Value ValueToProto(const Value& value) {
  v1::Value proto;
  if (const auto* text = std::get_if<std::string>(&value)) {
    proto.set_string(*text);
  } else if (const auto* number = std::get_if<double>(&value)) {
    proto.set_number(*number);
  } else {
    proto.set_bool_(std::get<bool>(value));
  }
  return proto;
}

}  // namespace corosched::machine
