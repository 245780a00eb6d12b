#include "server/work/work_token.h"

#include <sys/random.h>

#include <cerrno>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace corosched::server {
namespace {

constexpr char kVersion = 1;

}  // namespace

std::string WorkToken::Encode() const {
  std::string out;
  out.reserve(kHeaderBytes + task_id.size());
  out.push_back(kVersion);
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((attempt >> shift) & 0xff));
  }
  out.append(nonce);
  out.append(task_id);
  return out;
}

absl::StatusOr<WorkToken> WorkToken::Decode(absl::string_view bytes) {
  if (bytes.size() <= kHeaderBytes || bytes.size() > kMaxBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "token: ", bytes.size(), " bytes is not a work token (",
        kHeaderBytes + 1, " to ", kMaxBytes,
        " bytes); send the token exactly as the work item carried it"));
  }
  if (bytes[0] != kVersion) {
    return absl::InvalidArgumentError(
        "token: not a work token of a format this daemon issues; send the "
        "token exactly as the work item carried it");
  }
  WorkToken token;
  for (size_t i = 1; i <= 4; ++i) {
    token.attempt = (token.attempt << 8) | static_cast<uint8_t>(bytes[i]);
  }
  if (token.attempt == 0) {
    return absl::InvalidArgumentError(
        "token: names attempt 0, which no work item has; send the token "
        "exactly as the work item carried it");
  }
  token.nonce = std::string(bytes.substr(5, kNonceBytes));
  token.task_id = std::string(bytes.substr(kHeaderBytes));
  return token;
}

absl::StatusOr<std::string> NewLeaseNonce() {
  std::string nonce(WorkToken::kNonceBytes, '\0');
  size_t filled = 0;
  while (filled < nonce.size()) {
    ssize_t got = getrandom(nonce.data() + filled, nonce.size() - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat(
          "cannot draw a lease nonce: getrandom: ",
          std::error_code(errno, std::generic_category()).message()));
    }
    filled += static_cast<size_t>(got);
  }
  return nonce;
}

bool NoncesEqual(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

}  // namespace corosched::server
