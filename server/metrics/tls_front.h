#pragma once

// HTTPS for /metrics: terminates TLS on the listen address and passes each
// request, decrypted, to the plain HTTP endpoint behind it on loopback.
//
// civetweb could do TLS itself, but Debian 12's civetweb 1.15 was built for
// OpenSSL 1.1: it looks up SSL_get_peer_certificate by name in OpenSSL 3's
// libssl, which no longer exports it, and crashes on the first HTTPS
// connection. So TLS is done here, with OpenSSL linked normally.
//
//   auto front = TlsFront::Start({.listen = "0.0.0.0:9464",
//                                 .backend = "127.0.0.1:43127",
//                                 .cert_file = ..., .key_file = ...});
//   (*front)->address();  // "0.0.0.0:9464", the port bound when 0
//
// Each of `threads` threads serves one connection at a time, like the
// endpoint it fronts: the TLS handshake and the request (up to its blank
// line, at most 16 KiB) must arrive within `request_timeout` together; the
// request goes to `backend` on a new connection, and the answer comes back
// until the backend closes (it keeps no connection alive). A write to a
// client that does not read gives up after `request_timeout`. TLS 1.2 or
// later; the certificate chain and key are read once, at Start.
//
// Thread-safety: Start and destruction on one thread. The destructor stops
// the threads, each within `request_timeout`.

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace corosched::server {

struct TlsFrontOptions {
  std::string listen;   // host:port; port 0 picks a free one
  std::string backend;  // the plain endpoint, numeric host:port
  std::string cert_file;
  std::string key_file;
  int threads = 16;
  absl::Duration request_timeout = absl::Seconds(1);
};

class TlsFront {
 public:
  // FAILED_PRECONDITION naming the file when the certificate or key cannot
  // be loaded (or do not match); UNAVAILABLE naming the address when it
  // cannot be bound.
  static absl::StatusOr<std::unique_ptr<TlsFront>> Start(
      TlsFrontOptions options);
  ~TlsFront();
  TlsFront(const TlsFront&) = delete;
  TlsFront& operator=(const TlsFront&) = delete;

  // The bound address, e.g. 127.0.0.1:43127 for 127.0.0.1:0.
  const std::string& address() const { return address_; }

 private:
  struct State;
  TlsFront(std::shared_ptr<State> state, std::string address);
  void Serve();

  std::shared_ptr<State> state_;
  std::string address_;
  std::vector<std::thread> threads_;
};

}  // namespace corosched::server
