#include "core/machine/variable_path.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "core/quote.h"

namespace corosched::machine {
namespace {

namespace pb = ::google::protobuf;

bool IsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_' || c == '-';
}

absl::Status PathError(absl::string_view text, size_t offset,
                       absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      QuoteInput(text), " at offset ", offset, ": ", what,
      "; write dotted names and [index], e.g. order.items[0].sku"));
}

// Walks `json` by `step`; nullptr when there is nothing there.
const pb::Value* Walk(const pb::Value& json, const std::string& field,
                      int64_t index) {
  if (index >= 0) {
    if (!json.has_list_value() || index >= json.list_value().values_size()) {
      return nullptr;
    }
    return &json.list_value().values(static_cast<int>(index));
  }
  if (!json.has_struct_value()) return nullptr;
  auto it = json.struct_value().fields().find(field);
  return it == json.struct_value().fields().end() ? nullptr : &it->second;
}

}  // namespace

absl::StatusOr<VariablePath> VariablePath::Parse(absl::string_view text) {
  VariablePath path;
  path.text_ = std::string(text);
  bool indexed = false;  // once a step is an index, no longer name-only
  size_t i = 0;
  while (true) {
    const size_t start = i;
    while (i < text.size() && IsNameChar(text[i])) ++i;
    if (i == start) {
      return PathError(text, i,
                       i == text.size() ? "a name is missing at the end"
                                        : "expected a name");
    }
    path.steps_.push_back({std::string(text.substr(start, i - start)), -1});
    if (!indexed) path.name_ends_.emplace_back(i, path.steps_.size());
    while (i < text.size() && text[i] == '[') {
      indexed = true;
      const size_t digits = ++i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
      const size_t count = i - digits;
      if (count == 0 || count > 9 || (count > 1 && text[digits] == '0') ||
          i == text.size() || text[i] != ']') {
        return PathError(text, digits - 1,
                         "an index is digits in brackets, such as [0]");
      }
      int64_t index = 0;
      for (size_t d = digits; d < i; ++d) index = index * 10 + (text[d] - '0');
      path.steps_.push_back({"", index});
      ++i;
    }
    if (i == text.size()) break;
    if (text[i] != '.') return PathError(text, i, "unexpected character");
    ++i;
  }
  std::reverse(path.name_ends_.begin(), path.name_ends_.end());
  return path;
}

const Value* VariablePath::Resolve(const Variables& variables,
                                   Value* scratch) const {
  for (const auto& [end, spanned] : name_ends_) {
    auto it = variables.find(absl::string_view(text_).substr(0, end));
    if (it == variables.end()) continue;
    if (spanned == steps_.size()) return &it->second;
    const auto* structured = std::get_if<StructuredValue>(&it->second);
    if (structured == nullptr) return nullptr;
    const pb::Value* at = structured->json.get();
    for (size_t s = spanned; s < steps_.size() && at != nullptr; ++s) {
      at = Walk(*at, steps_[s].field, steps_[s].index);
    }
    if (at == nullptr) return nullptr;
    switch (at->kind_case()) {
      case pb::Value::kStringValue:
        *scratch = at->string_value();
        break;
      case pb::Value::kNumberValue:
        *scratch = at->number_value();
        break;
      case pb::Value::kBoolValue:
        *scratch = at->bool_value();
        break;
      default:  // shares the variable's value
        *scratch = StructuredValue{
            std::shared_ptr<const pb::Value>(structured->json, at)};
        break;
    }
    return scratch;
  }
  return nullptr;
}

}  // namespace corosched::machine
