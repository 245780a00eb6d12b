#include "server/metrics/tls_front.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "net/host_port.h"

namespace corosched::server {

struct TlsFront::State {
  ~State() {
    if (listen_fd >= 0) close(listen_fd);
    if (stop_read >= 0) close(stop_read);
    if (stop_write >= 0) close(stop_write);
    SSL_CTX_free(context);
  }
  TlsFrontOptions options;
  SSL_CTX* context = nullptr;
  int listen_fd = -1;
  // Written once by the destructor: wakes every thread's poll.
  int stop_read = -1;
  int stop_write = -1;
};

namespace {

constexpr size_t kMaxRequestBytes = 16 * 1024;

std::string ErrnoText() {
  return std::error_code(errno, std::generic_category()).message();
}

std::string OpenSslReason() {
  const unsigned long error = ERR_peek_last_error();  // NOLINT(runtime/int)
  const char* reason = error == 0 ? nullptr : ERR_reason_error_string(error);
  ERR_clear_error();
  return reason == nullptr ? "unknown error" : reason;
}

// A TCP socket for `address` (host:port): bound and listening when
// `listen`, else connected. -1 with `error` set on failure.
int OpenSocket(const std::string& address, bool listen, std::string* error) {
  absl::StatusOr<HostPort> parsed = SplitHostPort(address);
  if (!parsed.ok() || parsed->unix_socket) {
    *error = "not a host:port";
    return -1;
  }
  addrinfo hints = {};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (listen ? AI_PASSIVE : 0);
  addrinfo* found = nullptr;
  const std::string port = absl::StrCat(parsed->port);
  if (const int failed =
          getaddrinfo(parsed->host.c_str(), port.c_str(), &hints, &found);
      failed != 0) {
    *error = absl::StrCat("cannot resolve \"", parsed->host,
                          "\": ", gai_strerror(failed));
    return -1;
  }
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool ok = fd >= 0;
  if (ok && listen) {
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    ok = bind(fd, found->ai_addr, found->ai_addrlen) == 0 &&
         ::listen(fd, 64) == 0;
  } else if (ok) {
    ok = connect(fd, found->ai_addr, found->ai_addrlen) == 0;
  }
  if (!ok) {
    *error =
        errno == EADDRINUSE ? "the address is already in use" : ErrnoText();
    if (fd >= 0) close(fd);
    fd = -1;
  }
  freeaddrinfo(found);
  return fd;
}

void SetTimeouts(int fd, absl::Duration timeout) {
  timeval tv = absl::ToTimeval(timeout);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

// Reads the request head (through its blank line) within `deadline`.
bool ReadRequest(SSL* ssl, int fd, absl::Time deadline, std::string* request) {
  char buffer[4096];
  while (!absl::StrContains(*request, "\r\n\r\n")) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration() || request->size() > kMaxRequestBytes) {
      return false;
    }
    SetTimeouts(fd, left);
    const int n = SSL_read(ssl, buffer, sizeof(buffer));
    if (n <= 0) return false;
    request->append(buffer, static_cast<size_t>(n));
  }
  return true;
}

bool WriteAll(int fd, absl::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// One connection: handshake, request, the backend's answer, close.
void ServeConnection(SSL_CTX* context, const TlsFrontOptions& options,
                     int client) {
  const absl::Time deadline = absl::Now() + options.request_timeout;
  SetTimeouts(client, options.request_timeout);
  SSL* ssl = SSL_new(context);
  if (ssl == nullptr) return;
  SSL_set_fd(ssl, client);
  std::string request;
  if (SSL_accept(ssl) == 1 && ReadRequest(ssl, client, deadline, &request)) {
    std::string ignored;
    const int backend = OpenSocket(options.backend, false, &ignored);
    if (backend >= 0) {
      SetTimeouts(backend, options.request_timeout);
      SetTimeouts(client, options.request_timeout);
      if (WriteAll(backend, request)) {
        char buffer[16384];
        ssize_t n = 0;
        while ((n = recv(backend, buffer, sizeof(buffer), 0)) > 0) {
          if (SSL_write(ssl, buffer, static_cast<int>(n)) <= 0) break;
        }
      }
      close(backend);
    }
    SSL_shutdown(ssl);
  }
  ERR_clear_error();
  SSL_free(ssl);
}

}  // namespace

absl::StatusOr<std::unique_ptr<TlsFront>> TlsFront::Start(
    TlsFrontOptions options) {
  auto state = std::make_shared<State>();
  state->options = std::move(options);
  const TlsFrontOptions& opts = state->options;
  state->context = SSL_CTX_new(TLS_server_method());
  if (state->context == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot make a TLS context: ", OpenSslReason()));
  }
  SSL_CTX_set_min_proto_version(state->context, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(state->context,
                                         opts.cert_file.c_str()) != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--metrics-tls-cert ", opts.cert_file, ": ", OpenSslReason()));
  }
  if (SSL_CTX_use_PrivateKey_file(state->context, opts.key_file.c_str(),
                                  SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(state->context) != 1) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--metrics-tls-key ", opts.key_file, ": ", OpenSslReason()));
  }
  std::string error;
  state->listen_fd = OpenSocket(opts.listen, true, &error);
  if (state->listen_fd < 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot serve metrics on ", opts.listen, " (--metrics-listen): ", error,
        "; choose another address with --metrics-listen "
        "HOST:PORT, or turn metrics off with --metrics-listen="));
  }
  // Non-blocking: every thread wakes for a connection, one accepts it.
  fcntl(state->listen_fd, F_SETFL,
        fcntl(state->listen_fd, F_GETFL) | O_NONBLOCK);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", ErrnoText()));
  }
  state->stop_read = pipe_fds[0];
  state->stop_write = pipe_fds[1];
  sockaddr_storage bound = {};
  socklen_t length = sizeof(bound);
  getsockname(state->listen_fd, reinterpret_cast<sockaddr*>(&bound), &length);
  const uint16_t port =
      ntohs(bound.ss_family == AF_INET6
                ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  absl::StatusOr<HostPort> address = SplitHostPort(opts.listen);
  address->port = port;
  auto front = std::unique_ptr<TlsFront>(
      new TlsFront(std::move(state), address->ToString()));
  return front;
}

TlsFront::TlsFront(std::shared_ptr<State> state, std::string address)
    : state_(std::move(state)), address_(std::move(address)) {
  for (int i = 0; i < std::max(1, state_->options.threads); ++i) {
    threads_.emplace_back([this] { Serve(); });
  }
}

void TlsFront::Serve() {
  // A write to a client that has gone raises SIGPIPE in the writing
  // thread; blocked here, the write fails with EPIPE instead.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
  while (true) {
    pollfd fds[2] = {{state_->listen_fd, POLLIN, 0},
                     {state_->stop_read, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;  // stopping
    const int client = accept4(state_->listen_fd, nullptr, nullptr,
                               SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (client < 0) continue;  // another thread took it
    // Blocking from here, each step bounded by the socket timeouts.
    const int flags = fcntl(client, F_GETFL);
    fcntl(client, F_SETFL, flags & ~O_NONBLOCK);
    ServeConnection(state_->context, state_->options, client);
    close(client);
  }
}

TlsFront::~TlsFront() {
  const char stop = 's';
  (void)write(state_->stop_write, &stop, 1);
  for (std::thread& thread : threads_) thread.join();
}

}  // namespace corosched::server
