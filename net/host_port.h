#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace corosched {

// A network address as the daemon, the client and the tools write it:
//
//   "127.0.0.1:50051"  host "127.0.0.1", port 50051
//   "[::1]:0"          host "::1" (an IPv6 host goes in brackets), port 0
//   "localhost:9464"   host "localhost", port 9464
//   "unix:/run/c.sock" a Unix socket: host "/run/c.sock", no port
//
// The one way to take such text apart or put it back together, so that
// every folder reads addresses alike. Depends on Abseil only, so any folder
// may use it (net/ is below core/, server/ and client/).
//
//   absl::StatusOr<HostPort> listen = SplitHostPort(flag_value);
//   if (!listen.ok()) return listen.status();
//   listen->port = bound_port;
//   std::string address = listen->ToString();  // "[::1]:43127"
struct HostPort {
  // The name or numeric address without brackets; for a Unix socket, the
  // socket's path.
  std::string host;
  // 0 (any port, when listening) to 65535; always 0 for a Unix socket.
  uint16_t port = 0;
  bool unix_socket = false;

  // Back to text: brackets around a host that holds a ':', "unix:PATH".
  std::string ToString() const;
};

// Reads HOST:PORT, [IPV6]:PORT or unix:PATH. INVALID_ARGUMENT, saying what
// is wrong and showing the forms above, when the host or the path is empty,
// the port is not a number from 0 to 65535, or an IPv6 host lacks its
// brackets.
absl::StatusOr<HostPort> SplitHostPort(absl::string_view address);

}  // namespace corosched
