#include "server/store/task_store.h"

namespace corosched::server {

void AddPendingSignal(v1::TaskSnapshot& snapshot,
                      const v1::PendingSignal& signal) {
  if (snapshot.signal_sequence() >= signal.sequence()) return;  // has it
  *snapshot.add_mailbox() = signal;
  snapshot.set_signal_sequence(signal.sequence());
}

}  // namespace corosched::server
