#include "server/store/cluster_store.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "core/quote.h"

namespace corosched::server {
namespace {

// Marks the refusal, so that IsLeaseLost tells it from the other
// FAILED_PRECONDITION answers (an ended task) whatever its message says.
constexpr absl::string_view kLeaseLostPayload = "corosched.lease_lost";

}  // namespace

absl::Status LeaseLostError(absl::string_view task_id) {
  absl::Status status = absl::FailedPreconditionError(absl::StrCat(
      "task ", QuoteInput(task_id),
      " is no longer run by this daemon: its lease was lost or given up, so "
      "the write was refused"));
  status.SetPayload(kLeaseLostPayload, absl::Cord("1"));
  return status;
}

bool IsLeaseLost(const absl::Status& status) {
  return absl::IsFailedPrecondition(status) &&
         status.GetPayload(kLeaseLostPayload).has_value();
}

}  // namespace corosched::server
