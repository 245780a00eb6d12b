#include "server/store/store_keys.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace corosched::server {
namespace {

constexpr absl::string_view kTokenPrefix = "p1.";

}  // namespace

std::string EncodePageToken(uint64_t position) {
  return absl::StrCat(kTokenPrefix, position);
}

absl::StatusOr<uint64_t> DecodePageToken(absl::string_view token) {
  uint64_t position = 0;
  if (!absl::ConsumePrefix(&token, kTokenPrefix) ||
      !absl::SimpleAtoi(token, &position) || position == 0) {
    return absl::InvalidArgumentError(
        "page_token: not a token this server issued; pass the "
        "next_page_token of the previous response, or empty for the first "
        "page");
  }
  return position;
}

std::string DeterministicBytes(const google::protobuf::MessageLite& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream output(&bytes);
    google::protobuf::io::CodedOutputStream coded(&output);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }  // the stream flushes into `bytes` when it goes out of scope
  return bytes;
}

}  // namespace corosched::server
