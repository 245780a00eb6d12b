#include "core/machine/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace corosched::machine {
namespace {

namespace pb = ::google::protobuf;

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

void AppendJsonString(absl::string_view text, std::string* out) {
  out->push_back('"');
  for (const char c : text) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          constexpr char kHex[] = "0123456789abcdef";
          const auto byte = static_cast<unsigned char>(c);
          out->append("\\u00");
          out->push_back(kHex[byte >> 4]);
          out->push_back(kHex[byte & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void AppendJson(const pb::Value& json, std::string* out) {
  switch (json.kind_case()) {
    case pb::Value::kStringValue:
      AppendJsonString(json.string_value(), out);
      break;
    case pb::Value::kNumberValue:
      AppendNumber(json.number_value(), out);
      break;
    case pb::Value::kBoolValue:
      out->append(json.bool_value() ? "true" : "false");
      break;
    case pb::Value::kListValue: {
      out->push_back('[');
      const auto& items = json.list_value().values();
      for (int i = 0; i < items.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendJson(items[i], out);
      }
      out->push_back(']');
      break;
    }
    case pb::Value::kStructValue: {
      std::vector<const std::string*> keys;
      for (const auto& [key, unused] : json.struct_value().fields()) {
        keys.push_back(&key);
      }
      std::sort(keys.begin(), keys.end(),
                [](const auto* a, const auto* b) { return *a < *b; });
      out->push_back('{');
      for (size_t i = 0; i < keys.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendJsonString(*keys[i], out);
        out->push_back(':');
        AppendJson(json.struct_value().fields().at(*keys[i]), out);
      }
      out->push_back('}');
      break;
    }
    default:  // kNullValue; CheckJson refuses KIND_NOT_SET
      out->append("null");
      break;
  }
}

bool JsonEquals(const pb::Value& a, const pb::Value& b) {
  if (a.kind_case() != b.kind_case()) return false;
  switch (a.kind_case()) {
    case pb::Value::kStringValue:
      return a.string_value() == b.string_value();
    case pb::Value::kNumberValue:
      return a.number_value() == b.number_value();
    case pb::Value::kBoolValue:
      return a.bool_value() == b.bool_value();
    case pb::Value::kListValue: {
      const auto& x = a.list_value().values();
      const auto& y = b.list_value().values();
      if (x.size() != y.size()) return false;
      for (int i = 0; i < x.size(); ++i) {
        if (!JsonEquals(x[i], y[i])) return false;
      }
      return true;
    }
    case pb::Value::kStructValue: {
      const auto& x = a.struct_value().fields();
      const auto& y = b.struct_value().fields();
      if (x.size() != y.size()) return false;
      for (const auto& [key, value] : x) {
        auto it = y.find(key);
        if (it == y.end() || !JsonEquals(value, it->second)) return false;
      }
      return true;
    }
    default:
      return true;  // null (or no kind) on both sides
  }
}

// `where` is the path inside the value so far ("" at the top).
absl::Status CheckJsonAt(const pb::Value& json, int depth, std::string where) {
  auto error = [&where](absl::string_view what) {
    return absl::InvalidArgumentError(
        where.empty() ? std::string(what)
                      : absl::StrCat("at ", where, ": ", what));
  };
  switch (json.kind_case()) {
    case pb::Value::KIND_NOT_SET:
      return error("a JSON value with no kind; set one");
    case pb::Value::kNumberValue:
      if (!std::isfinite(json.number_value())) return error(kNotFiniteNumber);
      return absl::OkStatus();
    case pb::Value::kListValue:
    case pb::Value::kStructValue:
      if (depth + 1 > kMaxValueDepth) {
        return error(absl::StrCat("lists and objects nest more than ",
                                  kMaxValueDepth, " deep, the limit"));
      }
      break;
    default:
      return absl::OkStatus();
  }
  if (json.has_list_value()) {
    const auto& items = json.list_value().values();
    for (int i = 0; i < items.size(); ++i) {
      absl::Status item =
          CheckJsonAt(items[i], depth + 1, absl::StrCat(where, "[", i, "]"));
      if (!item.ok()) return item;
    }
    return absl::OkStatus();
  }
  for (const auto& [key, value] : json.struct_value().fields()) {
    absl::Status field =
        CheckJsonAt(value, depth + 1, absl::StrCat(where, ".", key));
    if (!field.ok()) return field;
  }
  return absl::OkStatus();
}

struct TypeNameOf {
  absl::string_view operator()(const std::string&) const { return "string"; }
  absl::string_view operator()(double) const { return "number"; }
  absl::string_view operator()(bool) const { return "bool"; }
  absl::string_view operator()(const StructuredValue& value) const {
    return JsonTypeName(*value.json);
  }
};

}  // namespace

bool operator==(const StructuredValue& a, const StructuredValue& b) {
  return a.json == b.json || JsonEquals(*a.json, *b.json);
}

absl::string_view TypeName(const Value& value) {
  return std::visit(TypeNameOf{}, value);
}

std::string WithArticle(absl::string_view type) {
  return absl::StrCat(type == "object" ? "an " : "a ", type);
}

absl::string_view JsonTypeName(const pb::Value& json) {
  switch (json.kind_case()) {
    case pb::Value::kStringValue:
      return "string";
    case pb::Value::kNumberValue:
      return "number";
    case pb::Value::kBoolValue:
      return "bool";
    case pb::Value::kNullValue:
      return "null";
    case pb::Value::kListValue:
      return "list";
    case pb::Value::kStructValue:
      return "object";
    case pb::Value::KIND_NOT_SET:
      break;
  }
  return "none";
}

void AppendValue(const Value& value, std::string* out) {
  if (const auto* text = std::get_if<std::string>(&value)) {
    out->append(*text);
  } else if (const auto* number = std::get_if<double>(&value)) {
    AppendNumber(*number, out);
  } else if (const auto* flag = std::get_if<bool>(&value)) {
    out->append(*flag ? "true" : "false");
  } else {
    AppendJson(*std::get<StructuredValue>(value).json, out);
  }
}

size_t ValueBytes(const Value& value) {
  if (const auto* text = std::get_if<std::string>(&value)) return text->size();
  std::string shown;
  AppendValue(value, &shown);
  return shown.size();
}

absl::Status CheckJson(const pb::Value& json) {
  return CheckJsonAt(json, 0, "");
}

absl::StatusOr<Value> ValueFromJson(const pb::Value& json) {
  absl::Status valid = CheckJson(json);
  if (!valid.ok()) return valid;
  switch (json.kind_case()) {
    case pb::Value::kStringValue:
      return Value(json.string_value());
    case pb::Value::kNumberValue:
      return Value(json.number_value());
    case pb::Value::kBoolValue:
      return Value(json.bool_value());
    default:
      return Value(StructuredValue{std::make_shared<const pb::Value>(json)});
  }
}

absl::StatusOr<Value> ParseValue(const v1::Value& proto) {
  switch (proto.kind_case()) {
    case v1::Value::kString:
      return Value(proto.string());
    case v1::Value::kNumber:
      if (!std::isfinite(proto.number())) {
        return absl::InvalidArgumentError(kNotFiniteNumber);
      }
      return Value(proto.number());
    case v1::Value::kBool:
      return Value(proto.bool_());
    case v1::Value::kJson:
      return ValueFromJson(proto.json());
    case v1::Value::KIND_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError(
      "has no value; set one of string, number, bool, json");
}

std::optional<Value> ValueFromProto(const v1::Value& proto) {
  absl::StatusOr<Value> value = ParseValue(proto);
  if (!value.ok()) return std::nullopt;
  return *std::move(value);
}

v1::Value ValueToProto(const Value& value) {
  v1::Value proto;
  if (const auto* text = std::get_if<std::string>(&value)) {
    proto.set_string(*text);
  } else if (const auto* number = std::get_if<double>(&value)) {
    proto.set_number(*number);
  } else if (const auto* flag = std::get_if<bool>(&value)) {
    proto.set_bool_(*flag);
  } else {
    *proto.mutable_json() = *std::get<StructuredValue>(value).json;
  }
  return proto;
}

pb::Value ValueToJson(const Value& value) {
  pb::Value json;
  if (const auto* text = std::get_if<std::string>(&value)) {
    json.set_string_value(*text);
  } else if (const auto* number = std::get_if<double>(&value)) {
    json.set_number_value(*number);
  } else if (const auto* flag = std::get_if<bool>(&value)) {
    json.set_bool_value(*flag);
  } else {
    json = *std::get<StructuredValue>(value).json;
  }
  return json;
}

}  // namespace corosched::machine
