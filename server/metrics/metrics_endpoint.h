#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/collectable.h"
#include "prometheus/exposer.h"

namespace corosched::server {

// Serves Prometheus' text format at http://<address>/metrics from a few
// Collectables, on prometheus-cpp's embedded HTTP server (its own two
// threads).
//
//   auto endpoint = MetricsEndpoint::Start("127.0.0.1:0", {metrics});
//   if (!endpoint.ok()) { log endpoint.status(); exit 1; }
//   (*endpoint)->address();  // "127.0.0.1:43127"
//
// Each scrape calls every Collectable's Collect on a server thread; one
// that has been destroyed is skipped.
//
// Thread-safety: Start and destruction on one thread. The destructor stops
// the HTTP server and waits for a scrape in progress, within milliseconds
// (see the destructor).
class MetricsEndpoint {
 public:
  // Binds `listen` (host:port; port 0 picks a free one). UNAVAILABLE with a
  // message naming the address and why it cannot be bound (in use, not an
  // address of this machine, ...).
  static absl::StatusOr<std::unique_ptr<MetricsEndpoint>> Start(
      const std::string& listen,
      const std::vector<std::weak_ptr<prometheus::Collectable>>& collectables);

  // civetweb's listener thread polls its socket with a 2 s timeout and
  // notices a stop only between polls, so stopping the server could take 2
  // s (and hold up the daemon's exit). The destructor stops it on a helper
  // thread it joins, and meanwhile connects to the endpoint every few
  // milliseconds to wake that poll.
  ~MetricsEndpoint();
  MetricsEndpoint(const MetricsEndpoint&) = delete;
  MetricsEndpoint& operator=(const MetricsEndpoint&) = delete;

  // The bound address, e.g. 127.0.0.1:43127 for 127.0.0.1:0.
  const std::string& address() const { return address_; }

 private:
  MetricsEndpoint(std::unique_ptr<prometheus::Exposer> exposer,
                  std::string address)
      : exposer_(std::move(exposer)), address_(std::move(address)) {}

  std::unique_ptr<prometheus::Exposer> exposer_;
  std::string address_;
};

}  // namespace corosched::server
