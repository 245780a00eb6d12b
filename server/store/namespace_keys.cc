#include "server/store/namespace_keys.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "core/quote.h"

namespace corosched::server {

std::string NamespacedKey(absl::string_view namespace_name,
                          absl::string_view name) {
  if (namespace_name == kDefaultNamespaceName) return std::string(name);
  return absl::StrCat(namespace_name,
                      absl::string_view(&kNamespaceSeparator, 1), name);
}

KeyParts SplitNamespacedKey(absl::string_view key) {
  const size_t separator = key.find(kNamespaceSeparator);
  if (separator == absl::string_view::npos) {
    return {kDefaultNamespaceName, key};
  }
  return {key.substr(0, separator), key.substr(separator + 1)};
}

absl::Status WithLocalName(const absl::Status& status, absl::string_view key) {
  const absl::string_view name = LocalName(key);
  if (status.ok() || name.size() == key.size()) return status;
  return absl::Status(
      status.code(),
      absl::StrReplaceAll(status.message(),
                          {{QuoteInput(key), QuoteInput(name)}}));
}

bool KeyInNamespace(absl::string_view key, absl::string_view namespace_name) {
  return SplitNamespacedKey(key).namespace_name == namespace_name;
}

NamespaceKeyRange KeyRangeOf(absl::string_view namespace_name) {
  // '0' follows '/' in ASCII: every "<ns>/..." sorts in [<ns>/, <ns>0).
  static_assert(kNamespaceSeparator + 1 == '0');
  return {absl::StrCat(namespace_name, "/"), absl::StrCat(namespace_name, "0")};
}

}  // namespace corosched::server
