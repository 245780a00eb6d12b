#pragma once

// Test-only: a plain HTTP/1.0 GET, enough to scrape /metrics from a daemon
// without curl.
//
//   absl::StatusOr<HttpResponse> got = HttpGet("127.0.0.1:9464", "/metrics");

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace corosched::testing {

struct HttpResponse {
  int status = 0;    // 200
  std::string body;  // without the headers
};

// GET http://<address><path>, address a numeric IPv4 host:port. UNAVAILABLE
// when it cannot connect, DEADLINE_EXCEEDED past `timeout`.
absl::StatusOr<HttpResponse> HttpGet(
    const std::string& address, const std::string& path,
    absl::Duration timeout = absl::Seconds(10));

}  // namespace corosched::testing
