#pragma once

// Test-only: writing --auth-tokens files.
//
//   std::string json = TokensJson({TokenJson("ci", "secret", {"a"},
//   {"read"})});

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/auth/credential_table.h"

namespace corosched::server::testing {

inline std::string HexSha256(absl::string_view token) {
  const Sha256Digest digest = Sha256(token);
  return absl::BytesToHexString(absl::string_view(
      reinterpret_cast<const char*>(digest.data()), digest.size()));
}

inline std::string JsonList(const std::vector<std::string>& items) {
  return absl::StrCat(
      "[",
      absl::StrJoin(items, ", ",
                    [](std::string* out, const std::string& item) {
                      absl::StrAppend(out, "\"", item, "\"");
                    }),
      "]");
}

// One entry of "tokens", for the token `token`.
inline std::string TokenJson(absl::string_view name, absl::string_view token,
                             const std::vector<std::string>& namespaces,
                             const std::vector<std::string>& roles) {
  return absl::StrCat(R"({"name": ")", name, R"(", "sha256": ")",
                      HexSha256(token), R"(", "namespaces": )",
                      JsonList(namespaces), R"(, "roles": )", JsonList(roles),
                      "}");
}

// One entry of "certificates".
inline std::string CertificateJson(absl::string_view name,
                                   absl::string_view common_name,
                                   const std::vector<std::string>& namespaces,
                                   const std::vector<std::string>& roles) {
  return absl::StrCat(R"({"name": ")", name, R"(", "common_name": ")",
                      common_name, R"(", "namespaces": )", JsonList(namespaces),
                      R"(, "roles": )", JsonList(roles), "}");
}

inline std::string TokensJson(
    const std::vector<std::string>& tokens,
    const std::vector<std::string>& certificates = {}) {
  return absl::StrCat(R"({"tokens": [)", absl::StrJoin(tokens, ", "),
                      R"(], "certificates": [)",
                      absl::StrJoin(certificates, ", "), "]}");
}

}  // namespace corosched::server::testing
