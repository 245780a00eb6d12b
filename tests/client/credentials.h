#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tests/testing/server_process.h"

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

// A test suite's daemon on credentials of its own: MakeCredentials in
// TempDir()/<suite>.<pid>, then corosched-server with args(*this). Start it
// in SetUpTestSuite (on the main thread, as ServerProcess requires) and
// delete it in TearDownTestSuite: that stops the daemon, expecting exit 0,
// and removes the directory.
class CredentialedDaemon {
 public:
  using Args = std::function<std::vector<std::string>(
      const CredentialedDaemon& credentials)>;
  // Null, with a test failure saying why, when either step failed.
  static std::unique_ptr<CredentialedDaemon> Start(const std::string& suite,
                                                   const Args& args);
  ~CredentialedDaemon();
  CredentialedDaemon(const CredentialedDaemon&) = delete;
  CredentialedDaemon& operator=(const CredentialedDaemon&) = delete;

  // The path of one of MakeCredentials' files ("ca.pem", "a").
  std::string File(const std::string& name) const;
  ServerProcess& daemon() { return *daemon_; }

 private:
  explicit CredentialedDaemon(std::string dir) : dir_(std::move(dir)) {}

  const std::string dir_;
  std::unique_ptr<ServerProcess> daemon_;
};

}  // namespace corosched::testing
