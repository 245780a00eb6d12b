#include "core/machine/inputs.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/machine/names.h"
#include "core/quote.h"

namespace corosched::machine {
namespace {

absl::string_view DeclaredTypeName(v1::InputType type) {
  switch (type) {
    case v1::INPUT_TYPE_STRING:
      return "string";
    case v1::INPUT_TYPE_NUMBER:
      return "number";
    case v1::INPUT_TYPE_BOOL:
      return "bool";
    case v1::INPUT_TYPE_OBJECT:
      return "object";
    case v1::INPUT_TYPE_LIST:
      return "list";
    default:
      return "any";
  }
}

bool HasType(const Value& value, v1::InputType type) {
  return type == v1::INPUT_TYPE_ANY ||
         TypeName(value) == DeclaredTypeName(type);
}

// "approval@1", or "approval" when the definition has no version. Both are
// validated names, so they need no quoting.
std::string DefinitionLabel(const v1::TaskDefinition& definition) {
  if (definition.version().empty()) return definition.name();
  return absl::StrCat(definition.name(), "@", definition.version());
}

void CheckDeclaration(const std::string& path,
                      const v1::InputDeclaration& input,
                      const MachineLimits& limits,
                      std::vector<DefinitionProblem>* problems) {
  auto add = [problems](std::string where, std::string message) {
    problems->push_back({std::move(where), std::move(message)});
  };
  if (!IsValidName(input.name()) ||
      input.name().size() > limits.max_name_bytes) {
    add(path + ".name",
        absl::StrCat("input name ", QuoteInput(input.name()),
                     " is not a variable name; ", kNameRule, ", at most ",
                     limits.max_name_bytes, " bytes"));
  }
  if (!v1::InputType_IsValid(input.type())) {
    add(path + ".type",
        absl::StrCat("unknown type ", static_cast<int>(input.type()),
                     "; use one of INPUT_TYPE_ANY, INPUT_TYPE_STRING, "
                     "INPUT_TYPE_NUMBER, INPUT_TYPE_BOOL, INPUT_TYPE_OBJECT, "
                     "INPUT_TYPE_LIST"));
  }
  if (input.description().size() > limits.max_text_bytes) {
    add(path + ".description",
        absl::StrCat(input.description().size(),
                     " bytes of text; the limit is ", limits.max_text_bytes));
  }
  if (!input.has_default_()) return;
  if (input.required()) {
    add(path + ".default",
        "a required input has no default; drop the default, or required");
    return;
  }
  absl::StatusOr<Value> value = ValueFromJson(input.default_());
  if (!value.ok()) {
    add(path + ".default", std::string(value.status().message()));
  } else if (!HasType(*value, input.type())) {
    add(path + ".default",
        absl::StrCat("is ", WithArticle(TypeName(*value)),
                     ", but the input is declared ",
                     WithArticle(DeclaredTypeName(input.type()))));
  } else if (ValueBytes(*value) > limits.max_text_bytes) {
    add(path + ".default",
        absl::StrCat(ValueBytes(*value), " bytes; the limit is ",
                     limits.max_text_bytes));
  }
}

// Checks `value` of input `name` against the declarations (by name).
absl::Status CheckDeclaredInput(
    const v1::TaskDefinition& definition, const std::string& name,
    const Value& value,
    const absl::flat_hash_map<std::string, const v1::InputDeclaration*>&
        declared) {
  auto it = declared.find(name);
  if (it == declared.end()) {
    std::vector<std::string> names;
    for (const auto& input : definition.inputs()) names.push_back(input.name());
    std::sort(names.begin(), names.end());
    return absl::InvalidArgumentError(
        absl::StrCat("input ", QuoteInput(name), " is not declared by ",
                     DefinitionLabel(definition),
                     "; it takes: ", absl::StrJoin(names, ", ")));
  }
  if (!HasType(value, it->second->type())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "input ", QuoteInput(name), " is ", WithArticle(TypeName(value)),
        ", but ", DefinitionLabel(definition), " declares it ",
        WithArticle(DeclaredTypeName(it->second->type()))));
  }
  return absl::OkStatus();
}

void SortByName(StartVariables* variables) {
  std::sort(variables->begin(), variables->end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
}

// Checks the given `variables` (sorted by name) against `definition`'s
// declarations, then appends the defaults of absent inputs.
absl::Status ApplyDeclarations(const v1::TaskDefinition& definition,
                               StartVariables* variables) {
  absl::flat_hash_map<std::string, const v1::InputDeclaration*> declared;
  for (const auto& input : definition.inputs()) {
    declared.emplace(input.name(), &input);
  }
  absl::flat_hash_set<std::string> given;
  for (const auto& [name, value] : *variables) {
    absl::Status fits = CheckDeclaredInput(definition, name, value, declared);
    if (!fits.ok()) return fits;
    given.insert(name);
  }
  for (const v1::InputDeclaration& input : definition.inputs()) {
    if (given.contains(input.name())) continue;
    if (input.required()) {
      const std::string type =
          absl::StrCat(WithArticle(DeclaredTypeName(input.type())), " value");
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", QuoteInput(input.name()), " is required by ",
          DefinitionLabel(definition), ": ",
          input.description().empty()
              ? type
              : absl::StrCat(QuoteInput(input.description()), ", ", type),
          "; give it among the task's inputs"));
    }
    if (input.has_default_()) {  // valid: the definition was validated
      variables->emplace_back(input.name(),
                              ValueFromJson(input.default_()).value());
    }
  }
  return absl::OkStatus();
}

}  // namespace

void CheckInputDeclarations(const v1::TaskDefinition& definition,
                            const MachineLimits& limits,
                            std::vector<DefinitionProblem>* problems) {
  if (definition.inputs_size() > limits.max_inputs) {
    problems->push_back(
        {"inputs", absl::StrCat(definition.inputs_size(),
                                " input declarations; the limit is ",
                                limits.max_inputs)});
  }
  absl::flat_hash_map<std::string, int> first;
  for (int i = 0; i < definition.inputs_size(); ++i) {
    const std::string path = absl::StrCat("inputs[", i, "]");
    const v1::InputDeclaration& input = definition.inputs(i);
    CheckDeclaration(path, input, limits, problems);
    auto [it, inserted] = first.try_emplace(input.name(), i);
    if (!inserted) {
      problems->push_back(
          {path + ".name",
           absl::StrCat("input ", QuoteInput(input.name()),
                        " is declared twice (also inputs[", it->second,
                        "]); declare each input once")});
    }
  }
}

absl::StatusOr<StartVariables> ResolveInputs(
    const v1::TaskDefinition& definition, const MachineLimits& limits,
    const google::protobuf::Map<std::string, v1::Value>& inputs,
    bool apply_declarations) {
  StartVariables variables;
  for (const auto& [name, proto] : inputs) {
    if (!IsValidName(name) || name.size() > limits.max_name_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", QuoteInput(name), ": is not a valid variable name; ",
          kNameRule, ", at most ", limits.max_name_bytes, " bytes"));
    }
    absl::StatusOr<Value> value = ParseValue(proto);
    if (!value.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "input ", QuoteInput(name), ": ", value.status().message()));
    }
    variables.emplace_back(name, *std::move(value));
  }
  SortByName(&variables);
  if (apply_declarations && definition.inputs_size() > 0) {
    absl::Status declared = ApplyDeclarations(definition, &variables);
    if (!declared.ok()) return declared;
    SortByName(&variables);
  }
  return variables;
}

}  // namespace corosched::machine
