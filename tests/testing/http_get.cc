#include "tests/testing/http_get.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "net/host_port.h"

namespace corosched::testing {
namespace {

// Closes a file descriptor when it goes out of scope.
class Socket {
 public:
  Socket() : fd_(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    if (fd_ >= 0) close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  int fd() const { return fd_; }
  // Hands the descriptor over; the Socket no longer closes it.
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

std::string ErrnoText() {
  return std::error_code(errno, std::generic_category()).message();
}

absl::StatusOr<sockaddr_in> ParseAddress(const std::string& address) {
  absl::StatusOr<HostPort> split = SplitHostPort(address);
  sockaddr_in parsed = {};
  parsed.sin_family = AF_INET;
  if (!split.ok() || split->unix_socket || split->port == 0 ||
      inet_pton(AF_INET, split->host.c_str(), &parsed.sin_addr) != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a numeric IPv4 host:port: ", address));
  }
  parsed.sin_port = htons(split->port);
  return parsed;
}

// "HTTP/1.1 200 OK\r\n...\r\n\r\nbody" -> status and body.
absl::StatusOr<HttpResponse> ParseResponse(const std::string& raw) {
  HttpResponse response;
  const size_t space = raw.find(' ');
  const size_t end = raw.find("\r\n\r\n");
  if (space == std::string::npos || end == std::string::npos ||
      !absl::SimpleAtoi(absl::string_view(raw).substr(space + 1, 3),
                        &response.status)) {
    return absl::DataLossError(
        absl::StrCat("not an HTTP response: ", raw.substr(0, 200)));
  }
  response.body = raw.substr(end + 4);
  return response;
}

// Connects `socket` to `address`.
absl::Status Connect(const Socket& socket, const std::string& address) {
  absl::StatusOr<sockaddr_in> target = ParseAddress(address);
  if (!target.ok()) return target.status();
  if (connect(socket.fd(), reinterpret_cast<const sockaddr*>(&*target),
              sizeof(*target)) != 0) {
    return absl::UnavailableError(
        absl::StrCat("connect to ", address, ": ", ErrnoText()));
  }
  return absl::OkStatus();
}

// Sends all of `bytes` on `socket`.
absl::Status SendAll(const Socket& socket, absl::string_view bytes) {
  if (send(socket.fd(), bytes.data(), bytes.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(bytes.size())) {
    return absl::UnavailableError(absl::StrCat("send: ", ErrnoText()));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<HttpResponse> HttpGet(const std::string& address,
                                     const std::string& path,
                                     absl::Duration timeout) {
  Socket socket;
  if (absl::Status connected = Connect(socket, address); !connected.ok()) {
    return connected;
  }
  if (absl::Status sent = SendAll(
          socket, absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: ", address,
                               "\r\n\r\n"));
      !sent.ok()) {
    return sent;
  }
  const absl::Time deadline = absl::Now() + timeout;
  std::string raw;
  char buffer[8192];
  for (;;) {  // HTTP/1.0: the server closes the connection after the body
    pollfd readable = {socket.fd(), POLLIN, 0};
    const int left_ms =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (left_ms <= 0 || poll(&readable, 1, left_ms) <= 0) {
      return absl::DeadlineExceededError(absl::StrCat(
          "GET http://", address, path, ": no complete answer within ",
          absl::FormatDuration(timeout)));
    }
    const ssize_t n = read(socket.fd(), buffer, sizeof(buffer));
    if (n < 0)
      return absl::UnavailableError(absl::StrCat("read: ", ErrnoText()));
    if (n == 0) break;
    raw.append(buffer, static_cast<size_t>(n));
  }
  return ParseResponse(raw);
}

absl::StatusOr<std::unique_ptr<StalledHttpRequest>> StalledHttpRequest::Open(
    const std::string& address, absl::string_view sent) {
  Socket socket;
  if (absl::Status connected = Connect(socket, address); !connected.ok()) {
    return connected;
  }
  if (absl::Status status = SendAll(socket, sent); !status.ok()) return status;
  return std::unique_ptr<StalledHttpRequest>(
      new StalledHttpRequest(socket.Release()));
}

StalledHttpRequest::~StalledHttpRequest() { close(fd_); }

bool StalledHttpRequest::ClosedByServer(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  char buffer[4096];
  for (;;) {  // read past whatever the server answered, up to the end
    pollfd readable = {fd_, POLLIN, 0};
    const int left_ms =
        static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (left_ms <= 0 || poll(&readable, 1, left_ms) <= 0) return false;
    const ssize_t n = read(fd_, buffer, sizeof(buffer));
    if (n <= 0) return true;  // the end, or a reset
  }
}

}  // namespace corosched::testing
