// TaskRunner's wakes: a signal for a live task goes to its machine and then
// to the store, and is answered once stored; one for a task that is not live
// is answered from the store, or, with a shared store, queued in the inbox
// of the daemon that runs it. A repeated request id gets the first answer.
// No path waits for the store: what a wake must read first (a request id's
// first answer, a task that is not live) is read with the store's ...Async
// reads, and the wake goes on from their answer.

#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/machine/machine.h"
#include "core/machine/proto_time.h"
#include "core/quote.h"
#include "server/tasks/task_runner.h"  // IWYU pragma: associated

namespace corosched::server {
namespace {

absl::Status NoSuchAwait(const machine::Program& program,
                         const std::string& signal) {
  const std::vector<std::string>& names = program.awaited_signals();
  // A definition may await thousands of signals; the message names a few.
  constexpr size_t kListed = 20;
  std::string awaited = names.empty() ? "no signals" : "";
  for (size_t i = 0; i < names.size() && i < kListed; ++i) {
    absl::StrAppend(&awaited, i == 0 ? "" : ", ", names[i]);
  }
  if (names.size() > kListed) {
    absl::StrAppend(&awaited, " and ", names.size() - kListed, " more");
  }
  return absl::InvalidArgumentError(
      absl::StrCat("signal: no state of definition ",
                   QuoteInput(program.definition().name()), " awaits signal ",
                   QuoteInput(signal), "; it awaits ", awaited));
}

// A wake queued for another daemon: kept in the task's inbox until its
// owner delivers it (it then lands in the task's mailbox, or is taken at
// once, under the owner's own sequence number, which the queued answer
// cannot know).
// How long a remote wake waits for its owner's receipt before it answers
// as queued, and the first pause before looking (each later one doubles).
constexpr absl::Duration kWaitForOwnerReceipt = absl::Seconds(1);
constexpr absl::Duration kFirstReceiptRead = absl::Milliseconds(5);

v1::WakeTaskResponse QueuedWake(bool duplicate) {
  v1::WakeTaskResponse response;
  response.set_disposition(v1::WakeTaskResponse::BUFFERED);
  response.set_sequence(0);
  response.set_duplicate(duplicate);
  return response;
}

v1::WakeTaskResponse WakeResponse(const WakeRecord& wake, bool duplicate) {
  v1::WakeTaskResponse response;
  response.set_disposition(wake.disposition);
  response.set_sequence(wake.sequence);
  response.set_duplicate(duplicate);
  return response;
}

// "COMPLETED" for TASK_STATUS_COMPLETED.
std::string StatusName(v1::TaskStatus status) {
  const std::string& full = v1::TaskStatus_Name(status);
  return std::string(absl::StripPrefix(full, "TASK_STATUS_"));
}

absl::Status TaskEnded(const std::string& id, v1::TaskStatus status) {
  return absl::FailedPreconditionError(
      absl::StrCat("task ", QuoteInput(id), " has ended (", StatusName(status),
                   ") and takes no more signals"));
}

// The wake as the store keeps it: the signal, its sequence and arrival.
v1::PendingSignal PendingSignalOf(v1::Signal signal,
                                  const machine::WakeReceipt& receipt) {
  v1::PendingSignal pending;
  *pending.mutable_signal() = std::move(signal);
  pending.set_sequence(receipt.sequence);
  *pending.mutable_received_at() =
      machine::ToProtoTimestamp(receipt.received_at);
  return pending;
}

// Answers a wake, and when it has a request id, the repeats that joined it
// meanwhile: with the same answer, marked duplicate.
void AnswerWake(LiveTask& live, const std::string& request_id,
                absl::StatusOr<v1::WakeTaskResponse> answer,
                WakeCallback& done) {
  std::vector<WakeCallback> repeats;
  if (!request_id.empty()) repeats = live.wakes_in_flight().Finish(request_id);
  absl::StatusOr<v1::WakeTaskResponse> repeated = answer;
  if (repeated.ok()) repeated->set_duplicate(true);
  std::move(done)(std::move(answer));
  for (WakeCallback& repeat : repeats) std::move(repeat)(repeated);
}

}  // namespace

void TaskRunner::Wake(const std::string& id, v1::Signal signal,
                      const std::string& request_id, WakeCallback done,
                      Reach reach) {
  std::shared_ptr<LiveTask> live = FindCreated(id);
  if (live == nullptr) {
    if (reach == Reach::kAnyDaemon && routing_.cluster != nullptr) {
      WakeElsewhere(id, std::move(signal), request_id, std::move(done));
    } else {
      WakeRecorded(id, request_id, std::move(done));
    }
    return;
  }
  if (request_id.empty()) {
    absl::MutexLock lock(&live->record_mu());
    WakeLive(live, std::move(signal), request_id, done);
    return;
  }
  // The request id may have been answered before: by a wake in flight (this
  // one joins it) or by one stored, perhaps by an earlier process (looked
  // up). This wake is in flight from here until it is answered, so a repeat
  // that comes meanwhile joins it and the signal is delivered once.
  if (live->wakes_in_flight().JoinOrBegin(request_id, done)) return;
  store_.FindWakeAsync(
      id, request_id,
      [this, live, signal = std::move(signal), request_id,
       done = std::move(done)](
          absl::StatusOr<std::optional<WakeRecord>> first) mutable {
        if (!first.ok() || first->has_value()) {
          AnswerWake(*live, request_id,
                     first.ok() ? absl::StatusOr<v1::WakeTaskResponse>(
                                      WakeResponse(**first, true))
                                : first.status(),
                     done);
          return;
        }
        // Answered later, perhaps on the store's reader thread: the task
        // may have ended meanwhile, which WakeLive sees under record_mu.
        absl::MutexLock lock(&live->record_mu());
        WakeLive(live, std::move(signal), request_id, done);
      });
}

void TaskRunner::WakeLive(const std::shared_ptr<LiveTask>& live,
                          v1::Signal signal, const std::string& request_id,
                          WakeCallback& done) {
  const std::string& id = live->id();
  if (live->abandoned()) {
    // Its lease was lost after the lookup: another daemon runs it, and the
    // retry (kAnyDaemon) queues the signal for that one.
    AnswerWake(*live, request_id,
               absl::UnavailableError(absl::StrCat(
                   "task ", QuoteInput(id),
                   " moved to another daemon while it was being woken; "
                   "retry")),
               done);
    return;
  }
  // An ended task stays live until its end is stored: it is ended all the
  // same, whatever the signal.
  if (const v1::TaskStatus status = live->task().status();
      machine::IsEnded(status)) {
    AnswerWake(*live, request_id, TaskEnded(id, status), done);
    return;
  }
  if (!live->program().AwaitsSignal(signal.name())) {
    AnswerWake(*live, request_id, NoSuchAwait(live->program(), signal.name()),
               done);
    return;
  }
  v1::Signal signal_copy = signal;
  absl::StatusOr<machine::WakeReceipt> receipt =
      live->task().Wake(std::move(signal));
  if (!receipt.ok()) {
    AnswerWake(*live, request_id, receipt.status(), done);
    return;
  }
  using Disposition = machine::WakeReceipt::Disposition;
  if (receipt->disposition == Disposition::kRefusedEnded) {
    AnswerWake(*live, request_id, TaskEnded(id, live->task().status()), done);
    return;
  }
  const WakeRecord wake{receipt->disposition == Disposition::kConsumed
                            ? v1::WakeTaskResponse::CONSUMED
                            : v1::WakeTaskResponse::BUFFERED,
                        receipt->sequence};
  StoreWake(live, request_id, wake,
            PendingSignalOf(std::move(signal_copy), *receipt), done);
}

void TaskRunner::StoreWake(const std::shared_ptr<LiveTask>& live,
                           const std::string& request_id,
                           const WakeRecord& wake, v1::PendingSignal pending,
                           WakeCallback& done) {
  // Queued under record_mu, so the store receives the task's writes in the
  // order they happened. The signal, not the machine's snapshot: a poll may
  // have run since the last recorded one (it may have taken this very
  // signal), its own record waiting for record_mu. The store adds the signal
  // to the snapshot as recorded, so a crash before that poll's record resumes
  // the task before the poll, signal in hand, rather than past it with its
  // output lost.
  store_.RecordWakeSignalAsync(
      live->id(), request_id, wake, std::move(pending),
      [live, request_id, wake,
       done = std::move(done)](const absl::Status& stored) mutable {
        // Not acknowledged unless stored. The machine has the signal
        // already; a store that failed stops the daemon, and the restarted
        // daemon resumes the task from what is on disk, without it.
        absl::StatusOr<v1::WakeTaskResponse> answer = WakeResponse(wake, false);
        if (IsLeaseLost(stored)) {
          // Another daemon took the task over: the retry reaches it there.
          answer = absl::UnavailableError(absl::StrCat(
              "task ", QuoteInput(live->id()),
              " moved to another daemon before the wake was stored; retry"));
        } else if (!stored.ok()) {
          answer = stored;
        }
        AnswerWake(*live, request_id, std::move(answer), done);
      });
}

void TaskRunner::WakeRecorded(const std::string& id,
                              const std::string& request_id,
                              WakeCallback done) {
  store_.GetTaskAsync(id, [this, id, request_id, done = std::move(done)](
                              absl::StatusOr<TaskRecord> record) mutable {
    if (!record.ok()) {
      std::move(done)(record.status());
      return;
    }
    absl::Status refused = record->finished_at.has_value()
                               ? TaskEnded(id, record->snapshot.status())
                               : NotRunning(id);
    if (request_id.empty()) {
      std::move(done)(std::move(refused));
      return;
    }
    // A wake the task took before it ended (or before a restart) is
    // answered again, as a duplicate.
    store_.FindWakeAsync(
        id, request_id,
        [refused = std::move(refused), done = std::move(done)](
            absl::StatusOr<std::optional<WakeRecord>> first) mutable {
          if (!first.ok()) {
            std::move(done)(first.status());
          } else if (first->has_value()) {
            std::move(done)(WakeResponse(**first, true));
          } else {
            std::move(done)(std::move(refused));
          }
        });
  });
}

void TaskRunner::WakeElsewhere(const std::string& id, v1::Signal signal,
                               const std::string& request_id,
                               WakeCallback done) {
  store_.GetTaskAsync(id, [this, id, signal = std::move(signal), request_id,
                           done = std::move(done)](
                              absl::StatusOr<TaskRecord> record) mutable {
    if (!record.ok()) {
      std::move(done)(record.status());
      return;
    }
    if (record->finished_at.has_value()) {
      WakeRecorded(id, request_id, std::move(done));  // answered as ended
      return;
    }
    // Refused here as its owner would refuse it, so that what is queued
    // is a signal the task takes.
    absl::StatusOr<std::shared_ptr<const machine::Program>> program =
        routing_.programs->Get(*record->definition);
    if (!program.ok()) {
      std::move(done)(absl::FailedPreconditionError(
          absl::StrCat("task ", QuoteInput(id),
                       ": its recorded definition does not "
                       "compile under this daemon's limits: ",
                       program.status().message())));
      return;
    }
    if (!(*program)->AwaitsSignal(signal.name())) {
      std::move(done)(NoSuchAwait(**program, signal.name()));
      return;
    }
    if (absl::Status checked =
            machine::Machine::CheckSignal(**program, signal).status();
        !checked.ok()) {
      std::move(done)(checked);
      return;
    }
    InboxMessage message;
    message.task_id = id;
    message.kind = InboxMessage::Kind::kWake;
    message.signal = std::move(signal);
    message.request_id = request_id;
    routing_.cluster->EnqueueInboxAsync(
        std::move(message), [this, id, request_id, done = std::move(done)](
                                absl::StatusOr<InboxReceipt> queued) mutable {
          if (!queued.ok()) {
            std::move(done)(queued.status());
            return;
          }
          if (!queued->duplicate) {
            // The owner usually applies it within milliseconds: its own
            // receipt is the better answer, if it comes soon.
            AwaitWakeRecord(id,
                            request_id.empty()
                                ? absl::StrCat("inbox:", queued->id)
                                : request_id,
                            executor_.clock()->Now() + kWaitForOwnerReceipt,
                            kFirstReceiptRead, std::move(done));
            return;
          }
          if (request_id.empty()) {
            std::move(done)(QueuedWake(true));
            return;
          }
          // A repeat: the first answer, once the owner has recorded it.
          store_.FindWakeAsync(
              id, request_id,
              [done = std::move(done)](
                  absl::StatusOr<std::optional<WakeRecord>> first) mutable {
                std::move(done)(first.ok() && first->has_value()
                                    ? WakeResponse(**first, true)
                                    : QueuedWake(true));
              });
        });
  });
}

void TaskRunner::AwaitWakeRecord(const std::string& id,
                                 const std::string& request_id,
                                 absl::Time deadline, absl::Duration delay,
                                 WakeCallback done) {
  routing_.timer->After(delay, [this, id, request_id, deadline, delay,
                                done = std::move(done)](bool due) mutable {
    if (!due) {  // the daemon is stopping: the wake is queued all the same
      std::move(done)(QueuedWake(false));
      return;
    }
    store_.FindWakeAsync(
        id, request_id,
        [this, id, request_id, deadline, delay, done = std::move(done)](
            absl::StatusOr<std::optional<WakeRecord>> first) mutable {
          if (first.ok() && first->has_value()) {
            std::move(done)(WakeResponse(**first, false));
            return;
          }
          const absl::Duration next = delay * 2;
          if (!first.ok() || executor_.clock()->Now() + next > deadline) {
            std::move(done)(QueuedWake(false));
            return;
          }
          AwaitWakeRecord(id, request_id, deadline, next, std::move(done));
        });
  });
}

}  // namespace corosched::server
