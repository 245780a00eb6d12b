// Uses the installed Corosched client: parses a definition, makes a client,
// and calls a daemon that is not there. Prints what it saw; exits 0 when
// everything behaved as documented.

#include <iostream>

#include "client/client.h"
#include "client/definition_json.h"

int main() {
  std::cout << "corosched client " << corosched::ClientVersion() << "\n";

  absl::StatusOr<corosched::v1::TaskDefinition> hello =
      corosched::ParseTaskDefinitionJson(
          R"({"name": "hello", "initial": "END", "states": {"END": {"complete": {}}}})");
  if (!hello.ok()) {
    std::cerr << "parse failed: " << hello.status() << "\n";
    return 1;
  }
  std::cout << "parsed definition " << hello->name() << "\n";

  // Port 1 on loopback: nothing listens, so the call is UNAVAILABLE.
  corosched::ClientOptions options;
  options.address = "127.0.0.1:1";
  options.default_timeout = absl::Seconds(5);
  corosched::Client client(options);
  absl::StatusOr<corosched::ServingStatus> health = client.Health();
  std::cout << "health: " << health.status() << "\n";
  return health.status().code() == absl::StatusCode::kUnavailable ? 0 : 1;
}
