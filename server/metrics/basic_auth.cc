#include "server/metrics/basic_auth.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace corosched::server {
namespace {

bool IsHex(absl::string_view text) {
  for (char c : text) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

absl::StatusOr<std::string> ReadFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) {
    return absl::FailedPreconditionError(
        absl::StrCat("--metrics-basic-auth ", file,
                     ": cannot read the file (missing? permissions?)"));
  }
  return text.str();
}

absl::StatusOr<std::vector<BasicAuthUser>> ParseFile(const std::string& file,
                                                     const std::string& text) {
  absl::StatusOr<std::vector<BasicAuthUser>> users = ParseBasicAuthFile(text);
  if (!users.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--metrics-basic-auth ", file, ": ", users.status().message()));
  }
  return users;
}

}  // namespace

absl::StatusOr<std::vector<BasicAuthUser>> ParseBasicAuthFile(
    absl::string_view text) {
  std::vector<BasicAuthUser> users;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.rfind(':');
    const absl::string_view name =
        colon == absl::string_view::npos ? "" : line.substr(0, colon);
    const absl::string_view hex =
        colon == absl::string_view::npos ? "" : line.substr(colon + 1);
    if (name.empty() || hex.size() != 64 || !IsHex(hex)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "line ", number,
          " is not user:SHA256HEX (a name, ':', and the 64 hex digits of "
          "the password's sha256, as printf %s PASSWORD | sha256sum prints "
          "them)"));
    }
    BasicAuthUser user{.name = std::string(name)};
    const std::string bytes = absl::HexStringToBytes(hex);
    std::copy(bytes.begin(), bytes.end(), user.password_sha256.begin());
    users.push_back(std::move(user));
  }
  if (users.empty()) {
    return absl::InvalidArgumentError(
        "lists no user (lines of user:SHA256HEX)");
  }
  return users;
}

absl::StatusOr<std::shared_ptr<BasicAuthUsers>> BasicAuthUsers::Load(
    const std::string& file, Options options) {
  absl::StatusOr<std::string> text = ReadFile(file);
  if (!text.ok()) return text.status();
  absl::StatusOr<std::vector<BasicAuthUser>> users = ParseFile(file, *text);
  if (!users.ok()) return users.status();
  const absl::Time now = options.now();
  return std::shared_ptr<BasicAuthUsers>(new BasicAuthUsers(
      file, std::move(options), *std::move(text), *std::move(users), now));
}

void BasicAuthUsers::ReloadIfDue() {
  const absl::Time now = options_.now();
  if (now - checked_at_ < options_.reload_interval) return;
  checked_at_ = now;
  absl::StatusOr<std::string> text = ReadFile(file_);
  if (text.ok() && (*text == text_ || *text == refused_text_)) return;
  absl::StatusOr<std::vector<BasicAuthUser>> users =
      text.ok() ? ParseFile(file_, *text)
                : absl::StatusOr<std::vector<BasicAuthUser>>(text.status());
  if (!users.ok()) {
    if (text.ok()) refused_text_ = *text;  // reported once, not every time
    if (options_.on_error) options_.on_error(users.status());
    return;
  }
  text_ = *std::move(text);
  users_ = *std::move(users);
}

bool BasicAuthUsers::Check(absl::string_view user, absl::string_view password) {
  std::array<uint8_t, 32> hash{};
  SHA256(reinterpret_cast<const unsigned char*>(password.data()),
         password.size(), hash.data());
  absl::MutexLock lock(&mu_);
  ReloadIfDue();
  bool granted = false;
  // Every entry is compared, the hash in constant time, so the time taken
  // does not tell how much of a guess was right.
  for (const BasicAuthUser& entry : users_) {
    const bool hash_matches = CRYPTO_memcmp(entry.password_sha256.data(),
                                            hash.data(), hash.size()) == 0;
    granted |= hash_matches && entry.name == user;
  }
  return granted;
}

}  // namespace corosched::server
