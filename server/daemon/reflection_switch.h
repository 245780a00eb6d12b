#pragma once

// --reflection: whether the server serves grpc.reflection.v1alpha.
//
//   grpc::ServerBuilder builder;
//   ConfigureReflection(config.reflection, builder);  // before BuildAndStart

#include "grpcpp/server_builder.h"

namespace corosched::server {

// On: registers gRPC's reflection plugin (a process-wide switch). Off:
// removes the plugin from `builder`'s server. Linking grpc++_reflection
// alone registers the plugin for every server (a static initializer in the
// library), so leaving the Init call out would not turn it off.
void ConfigureReflection(bool on, grpc::ServerBuilder& builder);

}  // namespace corosched::server
