#include "server/metrics/metrics_endpoint.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
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

namespace corosched::server {
namespace {

// "[::1]:9464" -> "::1", "9464" (for getaddrinfo).
std::pair<std::string, std::string> HostAndService(absl::string_view listen) {
  absl::StatusOr<HostPort> address = SplitHostPort(listen);
  if (!address.ok()) return {std::string(listen), ""};
  return {address->host, absl::StrCat(address->port)};
}

constexpr absl::string_view kStartFailed =
    "the HTTP server could not start on it";

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
  std::string reason(kStartFailed);
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

// The certificate chain and key in one private file, as civetweb's
// ssl_certificate wants them; removed (with its directory) on destruction.
class CombinedPem {
 public:
  static absl::StatusOr<std::unique_ptr<CombinedPem>> Write(
      const MetricsEndpointSecurity& security) {
    std::string text;
    for (const std::string* file : {&security.cert_file, &security.key_file}) {
      std::ifstream in(*file, std::ios::binary);
      std::ostringstream read;
      read << in.rdbuf();
      if (!in) {
        return absl::FailedPreconditionError(
            absl::StrCat(file == &security.cert_file ? "--metrics-tls-cert "
                                                     : "--metrics-tls-key ",
                         *file, ": cannot read the file"));
      }
      absl::StrAppend(&text, read.str(), "\n");
    }
    std::string dir = (std::filesystem::temp_directory_path() /
                       "corosched-metrics-tls-XXXXXX")
                          .string();
    if (mkdtemp(dir.data()) == nullptr) {  // mode 0700
      return absl::UnavailableError(absl::StrCat(
          "cannot make a private temporary directory for the /metrics TLS "
          "key: ",
          std::error_code(errno, std::generic_category()).message()));
    }
    auto pem = std::unique_ptr<CombinedPem>(new CombinedPem(dir));
    const int fd = open(pem->path().c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    bool written = fd >= 0 && write(fd, text.data(), text.size()) ==
                                  static_cast<ssize_t>(text.size());
    if (fd >= 0) written = (close(fd) == 0) && written;
    if (!written) {
      return absl::UnavailableError(
          absl::StrCat("cannot write ", pem->path(),
                       " (the /metrics certificate and key for civetweb)"));
    }
    return pem;
  }
  ~CombinedPem() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  CombinedPem(const CombinedPem&) = delete;
  CombinedPem& operator=(const CombinedPem&) = delete;

  std::string path() const { return dir_ + "/server.pem"; }

 private:
  explicit CombinedPem(std::string dir) : dir_(std::move(dir)) {}
  const std::string dir_;
};

// civetweb's options for `listen` and `limits` (see the class comment),
// over TLS with `pem` when it is not null.
std::vector<std::string> CivetOptions(const std::string& listen,
                                      const MetricsEndpointLimits& limits,
                                      const CombinedPem* pem) {
  const std::string timeout_ms =
      absl::StrCat(absl::ToInt64Milliseconds(limits.request_timeout));
  std::vector<std::string> flat;
  if (pem != nullptr) {
    // The 's' marks the port as TLS; 4: TLS 1.2 and later only.
    flat = {"listening_ports", listen + "s",           "ssl_certificate",
            pem->path(),       "ssl_protocol_version", "4"};
  } else {
    flat = {"listening_ports", listen};
  }
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

absl::Status MetricsTlsSupported() {
  // The names civetweb itself opens and looks up (see the header).
  void* ssl = dlopen("libssl.so", RTLD_LAZY | RTLD_LOCAL);
  const bool usable =
      ssl != nullptr && dlsym(ssl, "SSL_get_peer_certificate") != nullptr;
  if (ssl != nullptr) dlclose(ssl);
  if (usable) return absl::OkStatus();
  return absl::FailedPreconditionError(
      "--metrics-tls-cert: /metrics over HTTPS is not available with this "
      "system's civetweb (prometheus-cpp's HTTP server): it loads libssl.so "
      "and needs SSL_get_peer_certificate, which OpenSSL 3 no longer has "
      "(or libssl.so is not installed), so the first HTTPS scrape would "
      "crash the daemon. Serve /metrics on loopback, or behind a proxy that "
      "terminates TLS, with --metrics-basic-auth; or pass --insecure to "
      "serve it without TLS on a network you trust");
}

MetricsEndpoint::~MetricsEndpoint() {
  std::atomic<bool> stopped{false};
  std::thread stopper([this, &stopped] {
    exposer_.reset();
    stopped.store(true, std::memory_order_release);
  });
  while (!stopped.load(std::memory_order_acquire)) {
    Knock(address_);
    absl::SleepFor(absl::Milliseconds(5));
  }
  stopper.join();
}

absl::StatusOr<std::unique_ptr<MetricsEndpoint>> MetricsEndpoint::Start(
    const std::string& listen,
    const std::vector<std::weak_ptr<prometheus::Collectable>>& collectables,
    const MetricsEndpointLimits& limits,
    const MetricsEndpointSecurity& security) {
  std::unique_ptr<CombinedPem> pem;
  if (!security.cert_file.empty()) {
    if (absl::Status tls = MetricsTlsSupported(); !tls.ok()) return tls;
    absl::StatusOr<std::unique_ptr<CombinedPem>> written =
        CombinedPem::Write(security);
    if (!written.ok()) return written.status();
    pem = *std::move(written);
  }
  std::unique_ptr<prometheus::Exposer> exposer;
  // prometheus-cpp throws when its HTTP server cannot bind; our code throws
  // nothing, so this is the one place that catches.
  try {
    exposer = std::make_unique<prometheus::Exposer>(
        CivetOptions(listen, limits, pem.get()));
  } catch (const std::exception&) {
    std::string reason = BindFailure(listen);
    if (pem != nullptr && reason == kStartFailed) {
      reason =
          "TLS did not start (civetweb loads libssl.so and libcrypto.so "
          "when it starts: are they installed, and do --metrics-tls-cert "
          "and --metrics-tls-key hold a certificate and its key?)";
    }
    return absl::UnavailableError(absl::StrCat(
        "cannot serve metrics on ", listen, " (--metrics-listen): ", reason,
        "; choose another address with --metrics-listen HOST:PORT, or turn "
        "metrics off with --metrics-listen="));
  }
  pem.reset();  // read: the key is not left on disk twice
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
  std::string address = listen;
  if (absl::StatusOr<HostPort> bound = SplitHostPort(listen);
      bound.ok() && !ports.empty()) {
    bound->port = static_cast<uint16_t>(ports[0]);
    address = bound->ToString();
  }
  return std::unique_ptr<MetricsEndpoint>(
      new MetricsEndpoint(std::move(exposer), std::move(address)));
}

}  // namespace corosched::server
