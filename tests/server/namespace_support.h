#pragma once

// Stubs that act in one namespace: every call they make carries the
// `corosched-namespace` request header (added by a client interceptor, so
// the e2e helpers that take a Stub work unchanged in any namespace).

#include <memory>
#include <string>

#include "corosched/v1/scheduler.grpc.pb.h"

namespace corosched::e2e {

// A stub on `address` whose calls act in namespace `name` (the header is
// sent as given, valid or not).
std::unique_ptr<v1::Scheduler::Stub> NamespaceStub(const std::string& address,
                                                   const std::string& name);

}  // namespace corosched::e2e
