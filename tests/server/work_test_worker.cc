// A worker process for work_test.cc to kill: takes one item from a queue
// and holds it without a heartbeat until it is killed.
//
//   work_test_worker ADDRESS QUEUE
//
// Prints the item's task id, attempt and token (hex) on one line, flushes,
// then waits for a signal. Exits 1 when no item came within 20 s.

#include <unistd.h>

#include <cstdio>
#include <string>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "corosched/v1/scheduler.grpc.pb.h"
#include "grpcpp/grpcpp.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s ADDRESS QUEUE\n", argv[0]);
    return 2;
  }
  auto stub = corosched::v1::Scheduler::NewStub(
      grpc::CreateChannel(argv[1], grpc::InsecureChannelCredentials()));
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (absl::Now() < deadline) {
    corosched::v1::PollWorkRequest request;
    request.set_queue(argv[2]);
    request.set_worker_identity("doomed-worker");
    request.mutable_wait()->set_seconds(1);
    corosched::v1::PollWorkResponse response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
    grpc::Status status = stub->PollWork(&context, request, &response);
    if (!status.ok()) {
      std::fprintf(stderr, "poll: %s\n", status.error_message().c_str());
      return 1;
    }
    if (response.items_size() == 0) continue;
    const corosched::v1::WorkItem& item = response.items(0);
    std::printf("%s %u %s\n", item.task_id().c_str(), item.attempt(),
                absl::BytesToHexString(item.token()).c_str());
    std::fflush(stdout);
    for (;;) pause();
  }
  std::fprintf(stderr, "no item on %s within 20 s\n", argv[2]);
  return 1;
}
