#pragma once

// Test-only HTTP clients: a plain HTTP/1.0 GET, enough to scrape /metrics
// from a daemon without curl, and a client that stalls halfway through its
// request.
//
//   absl::StatusOr<HttpResponse> got = HttpGet("127.0.0.1:9464", "/metrics");

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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

// A TCP connection that has sent the start of an HTTP request and then
// nothing more, as a slow or hostile client would. Closed at destruction.
//
//   auto stalled = StalledHttpRequest::Open("127.0.0.1:9464");
//   ... the server should still answer others ...
//   EXPECT_TRUE((*stalled)->ClosedByServer(absl::Seconds(5)));
class StalledHttpRequest {
 public:
  // Connects to `address` (numeric IPv4 host:port) and sends `sent`.
  // UNAVAILABLE when it cannot.
  static absl::StatusOr<std::unique_ptr<StalledHttpRequest>> Open(
      const std::string& address, absl::string_view sent = "GET /metr");
  ~StalledHttpRequest();
  StalledHttpRequest(const StalledHttpRequest&) = delete;
  StalledHttpRequest& operator=(const StalledHttpRequest&) = delete;

  // Whether the server closed (or reset) the connection within `timeout`,
  // whatever it sent before.
  bool ClosedByServer(absl::Duration timeout);

 private:
  explicit StalledHttpRequest(int fd) : fd_(fd) {}
  const int fd_;
};

}  // namespace corosched::testing
