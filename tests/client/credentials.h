#pragma once

#include <string>

namespace corosched::testing {

// Tokens of the tokens file MakeCredentials writes: "a" and "b" may do
// everything in their own namespace, "reader" may only read in namespace a.
inline constexpr char kTokenA[] = "e2e-token-a-7f3c9d01b2";
inline constexpr char kTokenB[] = "e2e-token-b-0e4a51c6d8";
inline constexpr char kTokenReader[] = "e2e-token-reader-93ab";
// The common name of client.pem, granted read, submit and work in
// namespace a by the tokens file.
inline constexpr char kClientCommonName[] = "e2e-worker";

// Makes, in `dir` (which must exist), with the openssl command:
//   ca.pem ca.key            a CA
//   server.pem server.key    a server certificate for 127.0.0.1 and localhost
//   client.pem client.key    a client certificate, CN kClientCommonName
//   other-ca.pem             a CA that signed neither
//   a b reader               one file per token (with a final newline)
//   tokens.json              the daemon's --auth-tokens: the tokens' sha256
//                            and grants, and the client certificate's
// False when a command failed.
bool MakeCredentials(const std::string& dir);

}  // namespace corosched::testing
