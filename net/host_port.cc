#include "net/host_port.h"

#include <algorithm>
#include <cstddef>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace corosched {
namespace {

constexpr absl::string_view kUnixPrefix = "unix:";

// "\"x\": no :PORT; write HOST:PORT (...)".
absl::Status Invalid(absl::string_view address, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat(
      "\"", absl::CHexEscape(address), "\": ", what,
      "; write HOST:PORT (such as 127.0.0.1:50051 or localhost:0), "
      "[IPV6]:PORT (such as [::1]:50051) or unix:PATH"));
}

// The digits of a port, 0 to 65535.
bool ParsePort(absl::string_view digits, uint16_t* port) {
  uint32_t value = 0;
  if (digits.empty() || digits.size() > 5 ||
      !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(digits, &value) || value > 65535) {
    return false;
  }
  *port = static_cast<uint16_t>(value);
  return true;
}

}  // namespace

std::string HostPort::ToString() const {
  if (unix_socket) return absl::StrCat(kUnixPrefix, host);
  if (absl::StrContains(host, ':')) return absl::StrCat("[", host, "]:", port);
  return absl::StrCat(host, ":", port);
}

absl::StatusOr<HostPort> SplitHostPort(absl::string_view address) {
  HostPort parsed;
  absl::string_view rest = address;
  if (absl::ConsumePrefix(&rest, kUnixPrefix)) {
    if (rest.empty()) return Invalid(address, "no socket path after unix:");
    parsed.host = std::string(rest);
    parsed.unix_socket = true;
    return parsed;
  }
  absl::string_view host;
  if (absl::ConsumePrefix(&rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) return Invalid(address, "no ]");
    host = rest.substr(0, close);
    rest.remove_prefix(close + 1);
    if (!absl::ConsumePrefix(&rest, ":")) {
      return Invalid(address, "no :PORT after the ]");
    }
  } else {
    const size_t colon = rest.rfind(':');
    if (colon == absl::string_view::npos) return Invalid(address, "no :PORT");
    host = rest.substr(0, colon);
    if (absl::StrContains(host, ':')) {
      return Invalid(address, "an IPv6 host goes in brackets");
    }
    rest.remove_prefix(colon + 1);
  }
  if (host.empty()) return Invalid(address, "no host before :PORT");
  if (!ParsePort(rest, &parsed.port)) {
    return Invalid(address, "the port is not a number from 0 to 65535");
  }
  parsed.host = std::string(host);
  return parsed;
}

}  // namespace corosched
