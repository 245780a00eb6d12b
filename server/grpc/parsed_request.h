#pragma once

// A request message as corosched.v1.Scheduler's handlers receive it: the
// message, or why the bytes the client sent are not one.
//
// Why not the message type itself: gRPC's callback API (1.51) parses a
// unary or server-streaming request before any code of ours runs, and when
// the bytes do not parse it answers UNIMPLEMENTED with an empty message
// (CallbackUnaryHandler::RunHandler in grpcpp's server_callback_handlers.h),
// which tells the client nothing and is the code for a method the server
// does not have. On a bidi stream, a read whose bytes do not parse ends
// like the client's half-close, so the item would be dropped without an
// answer. Neither can be changed by the service or an interceptor.
//
// So SchedulerService registers its methods with ParsedRequest<M> as the
// request type. Its SerializationTraits below never fail: they parse the
// bytes into `message` exactly as gRPC's own traits do (same code, same
// cost) and record the outcome in `status`, which the handler checks first:
//
//   if (!request->status.ok()) { finish with request->status; }
//   else { serve request->message; }
//
// Only the request side changes; responses are the plain message types.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/impl/codegen/proto_utils.h"
#include "grpcpp/impl/serialization_traits.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/proto_buffer_reader.h"
#include "grpcpp/support/status.h"

namespace corosched::server {

template <typename Message>
struct ParsedRequest {
  Message message;
  // OK, or INVALID_ARGUMENT naming the message type, e.g. "the request is
  // not a valid corosched.v1.SubmitTaskRequest message; ...".
  absl::Status status;
};

}  // namespace corosched::server

namespace grpc {

// Read by gRPC's handlers for every ParsedRequest (see the comment above).
template <typename Message>
class SerializationTraits<corosched::server::ParsedRequest<Message>> {
 public:
  static Status Deserialize(ByteBuffer* buffer,
                            corosched::server::ParsedRequest<Message>* out) {
    // A unary call that ends without a message hands over no buffer.
    if (buffer == nullptr || !buffer->Valid()) {
      out->message.Clear();
      out->status = absl::InvalidArgumentError(
          absl::StrCat("the call carries no ",
                       Message::descriptor()->full_name(), " message"));
      return Status::OK;
    }
    if (GenericDeserialize<ProtoBufferReader, Message>(buffer, &out->message)
            .ok()) {
      out->status = absl::OkStatus();
    } else {
      out->status = absl::InvalidArgumentError(absl::StrCat(
          "the request is not a valid ", Message::descriptor()->full_name(),
          " message; check that the client sends that type, serialized by "
          "protobuf"));
    }
    return Status::OK;
  }
};

}  // namespace grpc
