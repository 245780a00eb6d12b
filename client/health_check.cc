#include "client/health_check.h"

#include <vector>

#include "absl/synchronization/notification.h"
#include "client/status.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"

namespace corosched::internal {
namespace {

namespace pb = ::google::protobuf;
using WireFormat = pb::internal::WireFormatLite;

constexpr char kCheckMethod[] = "/grpc.health.v1.Health/Check";
constexpr int kServiceField = 1;  // HealthCheckRequest.service
constexpr int kStatusField = 1;   // HealthCheckResponse.status

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

}  // namespace

std::string EncodeHealthCheckRequest(absl::string_view service) {
  std::string out;
  if (service.empty()) return out;  // proto3: the default is not written
  pb::io::StringOutputStream stream(&out);
  pb::io::CodedOutputStream coded(&stream);
  coded.WriteTag(WireFormat::MakeTag(kServiceField,
                                     WireFormat::WIRETYPE_LENGTH_DELIMITED));
  coded.WriteVarint32(static_cast<uint32_t>(service.size()));
  coded.WriteRaw(service.data(), static_cast<int>(service.size()));
  return out;
}

absl::StatusOr<int> DecodeHealthCheckResponse(absl::string_view bytes) {
  pb::io::CodedInputStream coded(reinterpret_cast<const uint8_t*>(bytes.data()),
                                 static_cast<int>(bytes.size()));
  int status = 0;
  while (uint32_t tag = coded.ReadTag()) {
    bool read = false;
    if (WireFormat::GetTagFieldNumber(tag) == kStatusField &&
        WireFormat::GetTagWireType(tag) == WireFormat::WIRETYPE_VARINT) {
      uint32_t value = 0;
      read = coded.ReadVarint32(&value);
      status = static_cast<int>(value);
    } else {
      read = WireFormat::SkipField(&coded, tag);
    }
    if (!read) {
      return absl::InternalError(
          "malformed grpc.health.v1.HealthCheckResponse");
    }
  }
  if (!coded.ConsumedEntireMessage()) {
    return absl::InternalError("malformed grpc.health.v1.HealthCheckResponse");
  }
  return status;
}

absl::StatusOr<int> CallHealthCheck(
    const std::shared_ptr<grpc::ChannelInterface>& channel,
    grpc::ClientContext* context, absl::string_view service) {
  grpc::GenericStub stub(channel);
  const std::string request_bytes = EncodeHealthCheckRequest(service);
  grpc::Slice slice(request_bytes);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(context, kCheckMethod, grpc::StubOptions(), &request,
                 &response, [&status, &done](grpc::Status result) {
                   status = std::move(result);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) return FromGrpcStatus(status);
  return DecodeHealthCheckResponse(ToString(response));
}

}  // namespace corosched::internal
