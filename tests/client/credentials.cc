#include "tests/client/credentials.h"

#include <cstdlib>
#include <fstream>

#include "absl/strings/str_cat.h"

namespace corosched::testing {

bool MakeCredentials(const std::string& dir) {
  const std::string script = absl::StrCat(
      "set -e; cd '", dir, "'\n",
      "key() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
      "-nodes -subj \"/CN=$2\" -keyout \"$1.key\" -out \"$1.csr\"; }\n",
      "ca() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 "
      "-nodes -days 2 -subj \"/CN=$2\" -keyout \"$1.key\" -out \"$1.pem\"; }\n",
      "sign() { openssl x509 -req -in \"$1.csr\" -CA ca.pem -CAkey ca.key "
      "-CAcreateserial -days 2 -extfile \"$1.ext\" -out \"$1.pem\"; }\n",
      "ca ca 'e2e CA'; ca other-ca 'another CA'\n", "key server localhost\n",
      "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext\n",
      "sign server\n", "key client ", kClientCommonName, "\n",
      "printf 'extendedKeyUsage=clientAuth\\n' > client.ext\n", "sign client\n",
      "printf '%s\\n' '", kTokenA, "' > a\n", "printf '%s\\n' '", kTokenB,
      "' > b\n", "printf '%s\\n' '", kTokenReader, "' > reader\n",
      "h() { printf '%s' \"$1\" | sha256sum | cut -d' ' -f1; }\n",
      "all='\"read\", \"submit\", \"wake\", \"work\", \"admin\"'\n",
      "cat > tokens.json <<EOF\n", "{\"tokens\": [\n",
      " {\"name\": \"a\", \"sha256\": \"$(h ", kTokenA,
      ")\", \"namespaces\": [\"a\"], \"roles\": [$all]},\n",
      " {\"name\": \"b\", \"sha256\": \"$(h ", kTokenB,
      ")\", \"namespaces\": [\"b\"], \"roles\": [$all]},\n",
      " {\"name\": \"reader\", \"sha256\": \"$(h ", kTokenReader,
      ")\", \"namespaces\": [\"a\"], \"roles\": [\"read\"]}],\n",
      " \"certificates\": [{\"name\": \"worker\", \"common_name\": \"",
      kClientCommonName,
      "\", \"namespaces\": [\"a\"], \"roles\": [\"read\", \"submit\", "
      "\"work\"]}]}\n",
      "EOF\n");
  const std::string path = dir + "/make-credentials.sh";
  std::ofstream(path) << script;
  // NOLINTNEXTLINE(concurrency-mt-unsafe): a suite's set-up, one thread
  return std::system(absl::StrCat("bash '", path, "' 2>/dev/null").c_str()) ==
         0;
}

}  // namespace corosched::testing
