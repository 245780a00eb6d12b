#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"
#include "server/metrics/basic_auth.h"
#include "server/metrics/tls_front.h"

namespace corosched::server {

// How many connections the endpoint serves at once, and how long each may
// take (see MetricsEndpoint).
struct MetricsEndpointLimits {
  // Connections served at once (civetweb's num_threads).
  int threads = 16;
  // How long a connection may take to send its request, and each write of
  // the answer (civetweb's request_timeout_ms). A scraper sends its request
  // in one packet; this only needs to cover the network's delay.
  absl::Duration request_timeout = absl::Seconds(1);
};

// How /metrics is secured (docs/operations.md, "TLS").
struct MetricsEndpointSecurity {
  // Both or neither: HTTPS (TLS 1.2 or later) with this certificate chain
  // and its private key (PEM), read once at Start. TLS is terminated by a
  // TlsFront on the listen address, in front of the HTTP server on a
  // loopback port (see tls_front.h).
  std::string cert_file;
  std::string key_file;
  // Null: no authentication. Otherwise HTTP basic auth against these users
  // (401 without or with wrong credentials).
  std::shared_ptr<BasicAuthUsers> users;
};

// Serves Prometheus' text format at http://<address>/metrics from a few
// Collectables, on prometheus-cpp's embedded HTTP server (civetweb, with
// its own threads).
//
//   auto endpoint = MetricsEndpoint::Start("127.0.0.1:0", {metrics});
//   if (!endpoint.ok()) { log endpoint.status(); exit 1; }
//   (*endpoint)->address();  // "127.0.0.1:43127"
//
// Each scrape calls every Collectable's Collect on a server thread; one
// that has been destroyed is skipped.
//
// Slow and idle clients: civetweb serves one connection per thread, from
// the first byte of the request to the close. A client that connects and
// sends part of a request (or nothing) holds its thread until the request
// timeout; with civetweb's default of 30 s, as many such clients as threads
// would stall every scrape. Here a connection has `request_timeout` (see
// MetricsEndpointLimits) to deliver its request, and each write of the
// answer as long, and `threads` connections are served at once: a scrape
// waits for stalled clients only when `threads` of them are connected, and
// then at most `request_timeout` per round of them. One request per
// connection (no keep-alive), so a scraper never holds a thread between
// scrapes.
//
// Thread-safety: Start and destruction on one thread. The destructor stops
// the HTTP server and waits for a scrape in progress, within milliseconds
// (see the destructor).
class MetricsEndpoint {
 public:
  // Binds `listen` (host:port; port 0 picks a free one). UNAVAILABLE with a
  // message naming the address and why it cannot be bound (in use, not an
  // address of this machine, ...) or TLS cannot start;
  // FAILED_PRECONDITION when the TLS files cannot be loaded.
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& listen,
      const std::vector<std::weak_ptr<prometheus::Collectable>>& collectables,
      const MetricsEndpointLimits& limits = {},
      const MetricsEndpointSecurity& security = {});

  // civetweb's listener thread polls its socket with a 2 s timeout and
  // notices a stop only between polls, so stopping the server could take 2
  // s (and hold up the daemon's exit). The destructor stops it on a helper
  // thread it joins, and meanwhile connects to the endpoint every few
  // milliseconds to wake that poll. A thread waiting for a stalled client's
  // request notices the stop within its request timeout, so with such a
  // client connected stopping takes up to
  // MetricsEndpointLimits::request_timeout.
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // The bound address, e.g. 127.0.0.1:43127 for 127.0.0.1:0.
  const std::string& address() const { return address_; }

 private:
  MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer,
                  std::string address)
      : exposer_(std::move(exposer)),
        http_address_(address),
        address_(std::move(address)) {}

  std::unique_ptr<prometheus::Exposer> exposer_;
  // Where the HTTP server listens: address_, or a loopback port behind
  // tls_front_.
  std::string http_address_;
  std::unique_ptr<TlsFront> tls_front_;
  std::string address_;
};

}  // namespace corosched::server
