#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace corosched::server {

// A lease's token: the opaque bytes a worker presents to heartbeat, complete
// or fail the item it was given. It names one task's attempt and one lease
// of it, and is unguessable:
//
//   byte 0        format version, 1
//   bytes 1..4    attempt, big-endian
//   bytes 5..20   nonce: kNonceBytes from the kernel's CSPRNG (getrandom)
//   bytes 21..    task id, 1 to kMaxTaskIdBytes bytes
//
// It carries no secret of the daemon's and no signature: its strength is the
// 128-bit nonce, which WorkQueues compares with the nonce it recorded for the
// lease. A token is therefore rebuilt exactly from a LeaseRecord (task id,
// attempt, nonce), which is what lets a lease survive a restart.
//
// Why getrandom and not absl::BitGen: BitGen is seeded from the OS but is
// documented as not for cryptographic use, and a token is a bearer
// credential: whoever holds it may end the attempt.
struct WorkToken {
  static constexpr size_t kNonceBytes = 16;
  // A namespaced task key (server/store/namespace_keys.h): a namespace of
  // up to 64 bytes, '/', and an id of up to 128.
  static constexpr size_t kMaxTaskIdBytes = 64 + 1 + 128;
  static constexpr size_t kHeaderBytes = 1 + 4 + kNonceBytes;
  // The longest token there is; longer bytes are refused before parsing.
  static constexpr size_t kMaxBytes = kHeaderBytes + kMaxTaskIdBytes;

  std::string task_id;
  uint32_t attempt = 0;
  std::string nonce;

  std::string Encode() const;
  // INVALID_ARGUMENT for bytes that are no token of this format (empty, too
  // long, another version, no task id, attempt 0). A well-formed token may
  // still name no lease: that is for WorkQueues to say.
  static absl::StatusOr<WorkToken> Decode(absl::string_view bytes);
};

// kNonceBytes fresh random bytes from getrandom(2). INTERNAL if the kernel
// will not give them (it blocks only before the pool is first seeded, at
// boot).
absl::StatusOr<std::string> NewLeaseNonce();

// Whether two nonces are equal, in time that depends only on their lengths.
bool NoncesEqual(absl::string_view a, absl::string_view b);

}  // namespace corosched::server
