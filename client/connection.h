#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace corosched {

// TLS to the daemon, from PEM files. TLS is on when ca_file is set.
struct TlsFiles {
  // The CA certificates the daemon's certificate must chain to.
  std::string ca_file;
  // A client certificate (chain) and its private key, for a daemon that
  // requires them (mTLS): both or neither; only with ca_file.
  std::string cert_file;
  std::string key_file;
  // The name the daemon's certificate must carry, when it is not the host
  // of the address (e.g. "corosched" while dialing 127.0.0.1).
  std::string server_name;
};

// How a Client or a Worker reaches the daemon and who it says it is.
struct ClientOptions {
  // A gRPC target: "host:port", "dns:///host:port", "unix:/path".
  std::string address = "127.0.0.1:50051";
  // Deadline of each unary call, unless its CallOptions says otherwise.
  absl::Duration default_timeout = absl::Seconds(10);
  // Largest message sent or accepted, in bytes; -1: no limit. The daemon
  // keeps its own limit (--max-message-size), 1 MiB by default.
  int max_message_bytes = 4 << 20;
  // TLS from files; empty: plaintext (loopback and trusted networks).
  TlsFiles tls;
  // Credentials made by the caller, instead of `tls` (not both); null and
  // no tls: plaintext.
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  // Sent on every call as "authorization: Bearer <token>"; empty: none.
  // A token of the daemon's tokens file or a JWT: printable ASCII without
  // spaces, at most 4096 bytes. Headers rather than call credentials,
  // so that a token works over loopback plaintext too (gRPC sends call
  // credentials only over TLS).
  std::string token;
  // Sent on every call as "corosched-namespace"; empty: none (the daemon
  // then uses "default"). 1 to 64 of letters, digits, `_ - .`.
  std::string namespace_name;
};

// The request header names the daemon reads (server/auth/authorizer.h).
inline constexpr absl::string_view kAuthorizationHeader = "authorization";
inline constexpr absl::string_view kNamespaceHeader = "corosched-namespace";

// OK for a namespace name of 1 to 64 letters, digits, `_ - .`; else
// INVALID_ARGUMENT saying why.
absl::Status ValidateNamespaceName(absl::string_view name);

// The headers every call of one Client or Worker carries: the bearer token
// and the namespace. Cheap to copy.
//
// Thread-safety: const methods may be called from any thread.
class CallHeaders {
 public:
  // No headers.
  CallHeaders() = default;
  // INVALID_ARGUMENT for a namespace that is not a valid name or a token
  // that cannot be a header value; the message never contains the token.
  static absl::StatusOr<CallHeaders> FromOptions(const ClientOptions& options);

  // Adds the headers to a call's context before it starts.
  void AddTo(grpc::ClientContext* context) const;

 private:
  std::string authorization_;  // "Bearer <token>", or empty
  std::string namespace_name_;
};

// A channel to options.address with options' TLS and message limits, plus
// `arguments` (the limits overwrite theirs). Connects lazily. FAILED_
// PRECONDITION naming the file when a TLS file cannot be read or holds no
// PEM block of the expected kind; INVALID_ARGUMENT for a client certificate
// without its key (or the reverse), either without ca_file, or tls together
// with credentials. The token and namespace are not the channel's: see
// CallHeaders.
absl::StatusOr<std::shared_ptr<grpc::Channel>> NewChannel(
    const ClientOptions& options,
    grpc::ChannelArguments arguments = grpc::ChannelArguments());

// The contents of a small file (a token, a PEM file); FAILED_PRECONDITION
// naming `what` and `path` when it cannot be read.
absl::StatusOr<std::string> ReadSmallFile(absl::string_view what,
                                          const std::string& path);

}  // namespace corosched
