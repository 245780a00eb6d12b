#include "core/examples/hello.h"

namespace corosched::examples {

// Defined out of line: clang 14 miscompiles inline coroutines under
// AddressSanitizer ("cannot represent a difference across sections").
Co<void> HelloCoroutine(std::string* out) {
  *out += "Hello, ";
  co_await YieldNow();
  *out += "World!";
  co_await YieldNow();
}

}  // namespace corosched::examples
