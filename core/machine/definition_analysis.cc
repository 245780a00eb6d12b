#include "core/machine/definition_analysis.h"

#include <deque>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "core/machine/definition_paths.h"
#include "core/machine/value.h"
#include "core/quote.h"

namespace corosched::machine::internal {
namespace {

// The type a variable is known to have from the definition alone, and the
// field that first gave it that type.
struct KnownType {
  absl::string_view type;  // a TypeName: "string", "number", "object", ...
  std::string path;
};

std::optional<absl::string_view> LiteralType(const v1::Operand& operand) {
  switch (operand.kind_case()) {
    case v1::Operand::kString:
      return "string";
    case v1::Operand::kNumber:
      return "number";
    case v1::Operand::kBool:
      return "bool";
    case v1::Operand::kJson:
      return JsonTypeName(operand.json());
    default:
      return std::nullopt;
  }
}

absl::string_view ValueTypeName(const v1::Value& value) {
  switch (value.kind_case()) {
    case v1::Value::kString:
      return "string";
    case v1::Value::kNumber:
      return "number";
    case v1::Value::kBool:
      return "bool";
    case v1::Value::kJson:
      return JsonTypeName(value.json());
    default:
      return "";
  }
}

class TypeChecker {
 public:
  explicit TypeChecker(std::vector<DefinitionProblem>* problems)
      : problems_(problems) {}

  void NoteAssignment(const std::string& variable, absl::string_view type,
                      const std::string& path) {
    if (type.empty() || variable.empty()) return;
    auto [it, inserted] = types_.try_emplace(variable, KnownType{type, path});
    if (!inserted && it->second.type != type) {
      problems_->push_back(
          {path, absl::StrCat("makes variable ", QuoteInput(variable), " a ",
                              type, ", but ", it->second.path, " makes it a ",
                              it->second.type, "; a variable keeps one type")});
    }
  }

  void CheckBranch(const std::string& path, const v1::Branch& branch) {
    if (branch.test_case() == v1::Branch::TEST_NOT_SET ||
        branch.test_case() == v1::Branch::kIsSet) {
      return;
    }
    const std::string test_path =
        absl::StrCat(path, ".", BranchTestJsonName(branch));
    const v1::Operand& operand = BranchOperand(branch);
    std::optional<absl::string_view> right = LiteralType(operand);
    std::string right_what = right ? absl::StrCat("a ", *right) : "";
    if (operand.kind_case() == v1::Operand::kVariable) {
      right = Known(operand.variable(), &right_what);
    }
    std::string left_what;
    std::optional<absl::string_view> left =
        Known(branch.variable(), &left_what);
    if (IsOrderingTest(branch)) {
      if (left && *left != "number") Mismatch(test_path, left_what);
      if (right && *right != "number") Mismatch(test_path, right_what);
    } else if (left && right && *left != *right) {
      problems_->push_back(
          {test_path, absl::StrCat("compares ", left_what, ", with ",
                                   right_what, "; compare like with like")});
    }
  }

 private:
  // The known type of `variable`, described into `what`.
  std::optional<absl::string_view> Known(const std::string& variable,
                                         std::string* what) {
    auto it = types_.find(variable);
    if (it == types_.end()) return std::nullopt;
    *what = absl::StrCat("variable ", QuoteInput(variable), ", a ",
                         it->second.type, " (", it->second.path, ")");
    return it->second.type;
  }

  void Mismatch(const std::string& test_path, const std::string& what) {
    problems_->push_back(
        {test_path, absl::StrCat("orders numbers only, but compares ", what,
                                 "; use equals or notEquals instead")});
  }

  std::vector<DefinitionProblem>* problems_;
  absl::flat_hash_map<std::string, KnownType> types_;
};

}  // namespace

void CheckReachableEnd(const v1::TaskDefinition& definition,
                       std::vector<DefinitionProblem>* problems) {
  if (!definition.states().contains(definition.initial())) return;
  absl::flat_hash_set<std::string> seen = {definition.initial()};
  std::deque<std::string> frontier = {definition.initial()};
  while (!frontier.empty()) {
    const v1::State& state = definition.states().at(frontier.front());
    frontier.pop_front();
    if (state.has_complete() || state.has_fail()) return;
    bool unknown_target = false;
    ForEachTarget(state, [&](const std::string&, const std::string& target) {
      if (!definition.states().contains(target)) {
        unknown_target = true;
      } else if (seen.insert(target).second) {
        frontier.push_back(target);
      }
    });
    // The unknown target is reported on its own; fixing it may well be the
    // path to an end, so saying "no end" too would only be noise.
    if (unknown_target) return;
  }
  problems->push_back(
      {"initial",
       absl::StrCat("no complete or fail state can be reached from ",
                    QuoteInput(definition.initial()),
                    ", so no task could ever finish; add a path to a state "
                    "with \"complete\": {} or \"fail\": {}")});
}

void CheckVariableTypes(const v1::TaskDefinition& definition,
                        const std::vector<std::string>& sorted_state_names,
                        std::vector<DefinitionProblem>* problems) {
  TypeChecker checker(problems);
  for (const std::string& name : sorted_state_names) {
    const v1::State& state = definition.states().at(name);
    for (int i = 0; i < state.actions_size(); ++i) {
      const v1::Action& action = state.actions(i);
      const std::string path =
          absl::StrCat(StatePath(name), ".actions[", i, "]");
      if (action.has_set() && action.set().has_value()) {
        checker.NoteAssignment(action.set().variable(),
                               ValueTypeName(action.set().value()),
                               path + ".set.value");
      } else if (action.has_add()) {
        checker.NoteAssignment(action.add().variable(), "number",
                               path + ".add");
      }
    }
    // A catcher's errorVariable always gets {"error": ..., "message": ...}.
    for (int i = 0; i < state.catch__size(); ++i) {
      checker.NoteAssignment(
          state.catch_(i).error_variable(), "object",
          absl::StrCat(StatePath(name), ".catch[", i, "].errorVariable"));
    }
  }
  for (const std::string& name : sorted_state_names) {
    const v1::State& state = definition.states().at(name);
    if (!state.has_choice()) continue;
    for (int i = 0; i < state.choice().when_size(); ++i) {
      checker.CheckBranch(
          absl::StrCat(StatePath(name), ".choice.when[", i, "]"),
          state.choice().when(i));
    }
  }
}

absl::string_view BranchTestJsonName(const v1::Branch& branch) {
  switch (branch.test_case()) {
    case v1::Branch::kEquals:
      return "equals";
    case v1::Branch::kNotEquals:
      return "notEquals";
    case v1::Branch::kLessThan:
      return "lessThan";
    case v1::Branch::kLessOrEqual:
      return "lessOrEqual";
    case v1::Branch::kGreaterThan:
      return "greaterThan";
    case v1::Branch::kGreaterOrEqual:
      return "greaterOrEqual";
    case v1::Branch::kIsSet:
      return "isSet";
    case v1::Branch::TEST_NOT_SET:
      break;
  }
  return "";
}

const v1::Operand& BranchOperand(const v1::Branch& branch) {
  switch (branch.test_case()) {
    case v1::Branch::kEquals:
      return branch.equals();
    case v1::Branch::kNotEquals:
      return branch.not_equals();
    case v1::Branch::kLessThan:
      return branch.less_than();
    case v1::Branch::kLessOrEqual:
      return branch.less_or_equal();
    case v1::Branch::kGreaterThan:
      return branch.greater_than();
    case v1::Branch::kGreaterOrEqual:
      return branch.greater_or_equal();
    default:
      return v1::Operand::default_instance();
  }
}

bool IsOrderingTest(const v1::Branch& branch) {
  switch (branch.test_case()) {
    case v1::Branch::kLessThan:
    case v1::Branch::kLessOrEqual:
    case v1::Branch::kGreaterThan:
    case v1::Branch::kGreaterOrEqual:
      return true;
    default:
      return false;
  }
}

}  // namespace corosched::machine::internal
