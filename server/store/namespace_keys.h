#pragma once

// How namespaces live in the store: by namespace-qualified keys.
//
// Task ids, definition names and work queue names are unique per namespace.
// The daemon keeps each under one key that says both:
//
//   namespace `default`:  the name itself         t1      emails
//   any other namespace:  <namespace>/<name>      b/t1    b/emails
//
// '/' is allowed in no task id, definition name, queue name or namespace, so
// a key splits back unambiguously, and the keys of `default` are exactly
// the keys the daemon used before namespaces existed: an existing data
// directory keeps working, its tasks and definitions being in `default`.
//
// The qualified key stays inside the daemon (stores, live tasks, work
// queues, metrics labels); clients see their own names (LocalName) and the
// namespace as a separate field.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace corosched::server {

inline constexpr char kNamespaceSeparator = '/';
// The namespace of a call without a namespace header, and of every key
// without a separator. Equal to auth's kDefaultNamespace.
inline constexpr absl::string_view kDefaultNamespaceName = "default";

// The key of `name` in namespace `namespace_name`.
// REQUIRES: neither contains kNamespaceSeparator.
std::string NamespacedKey(absl::string_view namespace_name,
                          absl::string_view name);

struct KeyParts {
  absl::string_view namespace_name;
  absl::string_view name;
};

// The namespace and the name a key was built from (NamespacedKey's inverse).
KeyParts SplitNamespacedKey(absl::string_view key);

// The name a client knows `key` by.
inline absl::string_view LocalName(absl::string_view key) {
  return SplitNamespacedKey(key).name;
}

// `status` with every quote of `key` in its message (core/quote.h) shown
// as the client's own name: errors never show a client the store's keys.
absl::Status WithLocalName(const absl::Status& status, absl::string_view key);

// Whether `key` belongs to namespace `namespace_name`.
bool KeyInNamespace(absl::string_view key, absl::string_view namespace_name);

// The keys of a namespace other than `default`, as a half-open range in
// byte order: [begin, end). For store range queries.
// REQUIRES: namespace_name != kDefaultNamespaceName.
struct NamespaceKeyRange {
  std::string begin;
  std::string end;
};
NamespaceKeyRange KeyRangeOf(absl::string_view namespace_name);

}  // namespace corosched::server
