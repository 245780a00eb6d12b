#pragma once

#include <cstdint>

namespace corosched::machine {

// Hooks through which MachineTasks report what the daemon's metrics need:
// how often tasks wake themselves, how many wake signals are accepted, and
// how many of those wait for an await.
//
// "Held" signals are those Wake accepted that no await has taken yet: the
// task's inbox plus its machine's mailbox. A task reports changes of its
// own count as deltas, and brings it back to zero when it ends or is
// destroyed, so the sum of the deltas over every task is the number held
// right now.
//
// Thread-safety: called on the thread that delivers a signal or polls the
// task, the signal hooks under that task's lock: implementations must be
// short, must not block, and must not call back into any MachineTask. The
// observer must outlive every MachineTask that reports to it.
class MachineObserver {
 public:
  virtual ~MachineObserver() = default;

  // A poll ended with the task waking itself to run again at once: a
  // yield, the step budget, or a sleep that was already due. On the worker
  // that polled it.
  virtual void OnSelfWake() = 0;

  // MachineTask::Wake accepted a signal (consumed or buffered).
  virtual void OnSignalAccepted() = 0;
  // The task's held signals changed by `delta` (either sign, never 0).
  virtual void OnHeldSignalsChanged(int64_t delta) = 0;
};

}  // namespace corosched::machine
