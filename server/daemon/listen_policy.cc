#include "server/daemon/listen_policy.h"

#include <arpa/inet.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "net/host_port.h"

namespace corosched::server {
namespace {

bool IsLoopbackIpv4(const std::string& host) {
  std::array<uint8_t, 4> bytes{};
  return inet_pton(AF_INET, host.c_str(), bytes.data()) == 1 && bytes[0] == 127;
}

bool IsLoopbackIpv6(const std::string& host) {
  std::array<uint8_t, 16> bytes{};
  if (inet_pton(AF_INET6, host.c_str(), bytes.data()) != 1) return false;
  const std::array<uint8_t, 16> loopback = {0, 0, 0, 0, 0, 0, 0, 0,
                                            0, 0, 0, 0, 0, 0, 0, 1};
  if (bytes == loopback) return true;
  // ::ffff:127.x.x.x, an IPv4 loopback address written as IPv6.
  for (size_t i = 0; i < 10; ++i) {
    if (bytes[i] != 0) return false;
  }
  return bytes[10] == 0xff && bytes[11] == 0xff && bytes[12] == 127;
}

}  // namespace

bool IsLoopbackListen(absl::string_view listen) {
  absl::StatusOr<HostPort> address = SplitHostPort(listen);
  if (!address.ok()) return false;
  if (address->unix_socket) return true;
  return absl::AsciiStrToLower(address->host) == "localhost" ||
         IsLoopbackIpv4(address->host) || IsLoopbackIpv6(address->host);
}

bool AuthenticationConfigured(const ServerConfig& config) {
  return !config.auth.tokens_file.empty() ||
         !config.auth.jwt_key_file.empty() ||
         !config.tls.client_ca_file.empty();
}

absl::Status CheckListenSecurity(const ServerConfig& config) {
  if (config.insecure) return absl::OkStatus();
  if (!IsLoopbackListen(config.listen)) {
    std::vector<std::string> missing;
    if (config.tls.cert_file.empty()) {
      missing.push_back("TLS (--tls-cert and --tls-key)");
    }
    if (!AuthenticationConfigured(config)) {
      missing.push_back(
          "authentication (--auth-tokens, --jwt-key or --tls-client-ca)");
    }
    if (!missing.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--listen ", config.listen,
          " is not a loopback address, and gRPC would serve it without ",
          absl::StrJoin(missing, " and "),
          ": anyone who reaches it could run tasks. Give --tls-cert and "
          "--tls-key with one of --auth-tokens, --jwt-key or "
          "--tls-client-ca; or listen on loopback (127.0.0.1:PORT, "
          "[::1]:PORT, unix:PATH); or pass --insecure to serve it as it is "
          "on a network you trust"));
    }
  }
  if (!config.metrics_listen.empty() &&
      !IsLoopbackListen(config.metrics_listen)) {
    std::vector<std::string> missing;
    if (config.tls.metrics_cert_file.empty()) {
      missing.push_back("TLS (--metrics-tls-cert and --metrics-tls-key)");
    }
    if (config.tls.metrics_basic_auth_file.empty()) {
      missing.push_back("authentication (--metrics-basic-auth)");
    }
    if (!missing.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "--metrics-listen ", config.metrics_listen,
          " is not a loopback address, and /metrics would be served "
          "without ",
          absl::StrJoin(missing, " and "),
          ". Give --metrics-tls-cert, --metrics-tls-key and "
          "--metrics-basic-auth; or serve metrics on loopback "
          "(127.0.0.1:PORT) or not at all (--metrics-listen=); or pass "
          "--insecure to serve it as it is on a network you trust"));
    }
  }
  return absl::OkStatus();
}

}  // namespace corosched::server
