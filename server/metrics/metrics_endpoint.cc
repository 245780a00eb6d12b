#include "server/metrics/metrics_endpoint.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <exception>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "net/host_port.h"
#include "server/metrics/tls_front.h"

namespace corosched::server {
namespace {

// "[::1]:9464" -> "::1", "9464" (for getaddrinfo).
std::pair<std::string, std::string> HostAndService(absl::string_view listen) {
  absl::StatusOr<HostPort> address = SplitHostPort(listen);
  if (!address.ok()) return {std::string(listen), ""};
  return {address->host, absl::StrCat(address->port)};
}

// Why `listen` cannot be bound, found by binding it ourselves (the HTTP
// server only says that it failed).
std::string BindFailure(const std::string& listen) {
  const auto [host, port] = HostAndService(listen);
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (const int error = getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
      error != 0) {
    return absl::StrCat("cannot resolve \"", host, "\": ", gai_strerror(error));
  }
  std::string reason = "the HTTP server could not start on it";
  const int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    const int one = 1;  // as the HTTP server binds
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, found->ai_addr, found->ai_addrlen) != 0) {
      reason = errno == EADDRINUSE
                   ? "the address is already in use (is another "
                     "corosched-server or exporter running there?)"
                   : std::error_code(errno, std::generic_category()).message();
    }
    close(fd);
  }
  freeaddrinfo(found);
  return reason;
}

// Opens and closes a TCP connection to `address` (host:port; a wildcard
// host means this machine), without waiting for it to be accepted.
void Knock(const std::string& address) {
  auto [host, port] = HostAndService(address);
  if (host == "0.0.0.0" || host.empty()) host = "127.0.0.1";
  if (host == "::") host = "::1";
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return;
  const int fd =
      socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd >= 0) {
    // EINPROGRESS is enough: the handshake wakes the listener.
    (void)connect(fd, found->ai_addr, found->ai_addrlen);
    close(fd);
  }
  freeaddrinfo(found);
}

// civetweb's options for `listen` and `limits` (see the class comment).
std::vector<std::string> CivetOptions(const std::string& listen,
                                      const MetricsEndpointLimits& limits) {
  const std::string timeout_ms =
      absl::StrCat(absl::ToInt64Milliseconds(limits.request_timeout));
  std::vector<std::string> flat = {"listening_ports", listen};
  const std::pair<const char*, std::string> options[] = {
      {"num_threads", absl::StrCat(limits.threads)},
      {"request_timeout_ms", timeout_ms},
      {"enable_keep_alive", "no"},
      // Would bound the wait for a second request on a connection, which
      // enable_keep_alive=no already rules out.
      {"keep_alive_timeout_ms", timeout_ms},
  };
  for (const auto& [name, value] : options) {
    flat.push_back(name);
    flat.push_back(value);
  }
  return flat;
}

}  // namespace

MetricsEndpoint::~MetricsEndpoint() {
  tls_front_.reset();  // stops passing requests to the HTTP server
  std::atomic<bool> stopped{false};
  std::thread stopper([this, &stopped] {
    exposer_.reset();
    stopped.store(true, std::memory_order_release);
  });
  while (!stopped.load(std::memory_order_acquire)) {
    Knock(http_address_);
    absl::SleepFor(absl::Milliseconds(5));
  }
  stopper.join();
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& listen,
    const std::vector<std::weak_ptr<prometheus::Collectable>>& collectables,
    const MetricsEndpointLimits& limits,
    const MetricsEndpointSecurity& security) {
  // With TLS, the HTTP server listens on loopback only, behind the TLS
  // front on `listen` (see tls_front.h for why civetweb does not do TLS).
  const bool tls = !security.cert_file.empty();
  const std::string http_listen = tls ? "127.0.0.1:0" : listen;
  std::unique_ptr<prometheus::Exposer> exposer;
  // prometheus-cpp throws when its HTTP server cannot bind; our code throws
  // nothing, so this is the one place that catches.
  try {
    exposer = std::make_unique<prometheus::Exposer>(
        CivetOptions(http_listen, limits));
  } catch (const std::exception&) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve metrics on ", http_listen,
        " (--metrics-listen): ", BindFailure(http_listen),
        "; choose another address with --metrics-listen HOST:PORT, or turn "
        "metrics off with --metrics-listen="));
  }
  for (const auto& collectable : collectables) {
    exposer->RegisterCollectable(collectable);
  }
  if (security.users != nullptr) {
    exposer->RegisterAuth(
        [users = security.users](const std::string& user,
                                 const std::string& password) {
          return users->Check(user, password);
        },
        "corosched");
  }
  const std::vector<int> ports = exposer->GetListeningPorts();
  std::string http_address = http_listen;
  if (absl::StatusOr<HostPort> bound = SplitHostPort(http_listen);
      bound.ok() && !ports.empty()) {
    bound->port = static_cast<uint16_t>(ports[0]);
    http_address = bound->ToString();
  }
  auto endpoint = std::unique_ptr<MetricsEndpoint>(
      new MetricsEndpoint(std::move(exposer), http_address));
  if (tls) {
    absl::StatusOr<std::unique_ptr<TlsFront>> front =
        TlsFront::Start({.listen = listen,
                         .backend = http_address,
                         .cert_file = security.cert_file,
                         .key_file = security.key_file,
                         .threads = limits.threads,
                         .request_timeout = limits.request_timeout});
    if (!front.ok()) return front.status();
    endpoint->tls_front_ = *std::move(front);
    endpoint->address_ = endpoint->tls_front_->address();
  }
  return endpoint;
}

}  // namespace corosched::server
