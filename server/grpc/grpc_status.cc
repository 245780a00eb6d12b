#include "server/grpc/grpc_status.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace corosched::server {
namespace {

// `message`, or its first bytes and how long it was.
std::string Bounded(absl::string_view message) {
  if (message.size() <= kMaxGrpcMessageBytes) return std::string(message);
  size_t cut = kMaxGrpcMessageBytes - 64;  // room for the note
  // Not inside a UTF-8 sequence: back up over continuation bytes.
  while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return absl::StrCat(message.substr(0, cut), "... (message cut; ",
                      message.size(), " bytes in all)");
}

}  // namespace

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode both number the canonical codes
  // 0..16 identically; anything else becomes UNKNOWN.
  const int code = static_cast<int>(status.code());
  const grpc::StatusCode grpc_code =
      code > 0 && code <= grpc::StatusCode::UNAUTHENTICATED
          ? static_cast<grpc::StatusCode>(code)
          : grpc::StatusCode::UNKNOWN;
  return grpc::Status(grpc_code, Bounded(status.message()));
}

}  // namespace corosched::server
