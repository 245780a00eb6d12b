#include "core/machine/definition_paths.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "core/machine/names.h"
#include "core/quote.h"

namespace corosched::machine::internal {

std::string StatePath(absl::string_view state) {
  return absl::StrCat("states[", QuoteInput(state), "]");
}

std::vector<std::string> SortedStateNames(
    const v1::TaskDefinition& definition) {
  std::vector<std::string> names;
  names.reserve(definition.states_size());
  for (const auto& [name, state] : definition.states()) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

std::string JoinStateNames(const std::vector<std::string>& sorted_names) {
  constexpr size_t kShownNames = 20;
  constexpr size_t kShownBytes = 1024;
  if (sorted_names.empty()) return "(none)";
  std::string joined;
  size_t shown = 0;
  for (; shown < sorted_names.size() && shown < kShownNames &&
         joined.size() < kShownBytes;
       ++shown) {
    const std::string& name = sorted_names[shown];
    // Valid names read best bare; any other is client text to quote.
    const bool bare = IsValidName(name) && name.size() <= kMaxQuotedInputBytes;
    absl::StrAppend(&joined, shown == 0 ? "" : ", ",
                    bare ? name : QuoteInput(name));
  }
  if (shown < sorted_names.size()) {
    absl::StrAppend(&joined, " and ", sorted_names.size() - shown, " more");
  }
  return joined;
}

void ForEachTarget(
    const v1::State& state,
    absl::FunctionRef<void(const std::string& field, const std::string& target)>
        visit) {
  switch (state.suspension_case()) {
    case v1::State::kYield:
      visit("yield.next", state.yield().next());
      break;
    case v1::State::kSleep:
      visit("sleep.next", state.sleep().next());
      break;
    case v1::State::kAwait: {
      std::vector<std::string> signals;
      for (const auto& [signal, target] : state.await().signals()) {
        signals.push_back(signal);
      }
      std::sort(signals.begin(), signals.end());
      for (const std::string& signal : signals) {
        visit(absl::StrCat("await.signals[", QuoteInput(signal), "]"),
              state.await().signals().at(signal));
      }
      if (state.await().has_timeout()) {
        visit("await.onTimeout", state.await().on_timeout());
      }
      break;
    }
    case v1::State::kChoice: {
      const v1::Choice& choice = state.choice();
      for (int i = 0; i < choice.when_size(); ++i) {
        visit(absl::StrCat("choice.when[", i, "].next"), choice.when(i).next());
      }
      visit("choice.otherwise", choice.otherwise());
      break;
    }
    case v1::State::kWork:
      visit("work.next", state.work().next());
      break;
    default:
      break;
  }
  // Only a work state may have catchers (the validator says so), but their
  // targets are edges wherever they are written.
  for (int i = 0; i < state.catch__size(); ++i) {
    visit(absl::StrCat("catch[", i, "].next"), state.catch_(i).next());
  }
}

}  // namespace corosched::machine::internal
