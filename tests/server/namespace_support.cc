#include "tests/server/namespace_support.h"

#include <utility>
#include <vector>

#include "grpcpp/grpcpp.h"
#include "grpcpp/support/client_interceptor.h"

namespace corosched::e2e {
namespace {

namespace experimental = grpc::experimental;

class NamespaceHeader final : public experimental::Interceptor {
 public:
  explicit NamespaceHeader(std::string name) : name_(std::move(name)) {}

  void Intercept(experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->emplace("corosched-namespace", name_);
    }
    methods->Proceed();
  }

 private:
  const std::string name_;
};

class NamespaceHeaderFactory final
    : public experimental::ClientInterceptorFactoryInterface {
 public:
  explicit NamespaceHeaderFactory(std::string name) : name_(std::move(name)) {}

  experimental::Interceptor* CreateClientInterceptor(
      experimental::ClientRpcInfo* /*info*/) override {
    return new NamespaceHeader(name_);
  }

 private:
  const std::string name_;
};

}  // namespace

std::unique_ptr<v1::Scheduler::Stub> NamespaceStub(const std::string& address,
                                                   const std::string& name) {
  std::vector<std::unique_ptr<experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  interceptors.push_back(std::make_unique<NamespaceHeaderFactory>(name));
  grpc::ChannelArguments args;
  // A connection of its own, as another client's would be.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  return v1::Scheduler::NewStub(
      experimental::CreateCustomChannelWithInterceptors(
          address, grpc::InsecureChannelCredentials(), args,
          std::move(interceptors)));
}

}  // namespace corosched::e2e
