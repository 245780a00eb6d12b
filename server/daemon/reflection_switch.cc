#include "server/daemon/reflection_switch.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/impl/server_builder_option.h"
#include "grpcpp/impl/server_builder_plugin.h"

namespace corosched::server {
namespace {

// Drops the plugins named `name` from the server being built.
class WithoutPlugin : public grpc::ServerBuilderOption {
 public:
  explicit WithoutPlugin(std::string name) : name_(std::move(name)) {}
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>*
                         plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [this](const auto& plugin) {
                                    return plugin->name() == name_;
                                  }),
                   plugins->end());
  }

 private:
  const std::string name_;
};

}  // namespace

void ConfigureReflection(bool on, grpc::ServerBuilder& builder) {
  if (on) {
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
    return;
  }
  builder.SetOption(std::make_unique<WithoutPlugin>(
      grpc::reflection::ProtoServerReflectionPlugin().name()));
}

}  // namespace corosched::server
