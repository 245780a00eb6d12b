#include "core/machine/payload.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "core/machine/names.h"
#include "core/quote.h"

namespace corosched::machine {
namespace {

absl::Status FlattenInto(const google::protobuf::Struct& object,
                         const std::string& path, size_t max_name_bytes,
                         PayloadVariables* out) {
  for (const auto& [field, value] : object.fields()) {
    if (!IsValidName(field)) {
      return absl::InvalidArgumentError(
          absl::StrCat("payload field ", QuoteInput(absl::StrCat(path, field)),
                       " cannot be a variable name; ", kNameRule));
    }
    std::string name = absl::StrCat(path, field);
    if (name.size() > max_name_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "payload field ", QuoteInput(name), " makes a variable name of ",
          name.size(), " bytes; the limit is ", max_name_bytes));
    }
    switch (value.kind_case()) {
      case google::protobuf::Value::kStringValue:
        out->emplace_back(std::move(name), value.string_value());
        break;
      case google::protobuf::Value::kNumberValue:
        if (!std::isfinite(value.number_value())) {
          return absl::InvalidArgumentError(absl::StrCat(
              "payload field ", QuoteInput(name), ": ", kNotFiniteNumber));
        }
        out->emplace_back(std::move(name), value.number_value());
        break;
      case google::protobuf::Value::kBoolValue:
        out->emplace_back(std::move(name), value.bool_value());
        break;
      case google::protobuf::Value::kStructValue: {
        absl::Status nested = FlattenInto(
            value.struct_value(), absl::StrCat(name, "."), max_name_bytes, out);
        if (!nested.ok()) return nested;
        break;
      }
      default:
        return absl::InvalidArgumentError(absl::StrCat(
            "payload field ", QuoteInput(name),
            " is a list or null; variables hold only strings, numbers "
            "and bools"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status FlattenPayload(const google::protobuf::Struct& payload,
                            absl::string_view prefix, size_t max_name_bytes,
                            PayloadVariables* out) {
  out->clear();
  absl::Status status =
      FlattenInto(payload, std::string(prefix), max_name_bytes, out);
  if (!status.ok()) return status;
  std::sort(out->begin(), out->end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < out->size(); ++i) {
    if ((*out)[i - 1].first == (*out)[i].first) {
      return absl::InvalidArgumentError(
          absl::StrCat("two payload fields land in variable ",
                       QuoteInput((*out)[i].first), "; rename one"));
    }
  }
  return absl::OkStatus();
}

}  // namespace corosched::machine
