#!/usr/bin/env python3
"""Checks, from a Corosched PostgreSQL database alone, that no task ran a
state twice inside one lease and that no stale owner wrote after a takeover.

    tests/cluster/epoch_checker.py POSTGRES_URL

Exit status: 0 when every task passes, 1 when one does not (each offending
task is printed with its events), 2 when the database cannot be read.

It is independent of the daemon: it reads the tables with psql and decodes
the events itself (no protobuf package), so a bug in the store's fencing
cannot hide behind the same bug in the checker. The contract it checks is in
server/store/cluster_store.h: every event row carries the epoch and the poll
count (snapshot.steps.polls) of the write that recorded it.

For every task, walking its events in sequence order:

 1. Sequence numbers follow each other without a gap (events may have been
    dropped from the front by --task-max-events, never from the middle).
 2. Epochs are at least 1, never decrease, and never exceed the epoch the
    task's row holds now: a write at a lower epoch after a higher one is a
    stale owner that wrote after another daemon took the task over.
 3. Poll counts never decrease: a claimer resumes from the last recorded
    snapshot, so it can only record later polls.
 4. A poll count is recorded by one write. A write is a run of consecutive
    events from one transaction (PostgreSQL's xmin) at one epoch. When a
    poll count is recorded by more than one write, the first is the poll;
    a later one may only end the task or change its status in the same
    state (a cancel, a task failed on resume, a work lease running out:
    writes that run no state and so do not count a poll). A later write
    that emits output or enters another state means the state ran twice and
    was recorded twice: two daemons polled it inside one lease, or a stale
    owner wrote after a takeover.

What it cannot see: a state re-run that records no event (a yield to the
same state without output), and anything of a task whose events were purged.
"""

import subprocess
import sys
from dataclasses import dataclass, field

# Where the store keeps what is checked (server/store/postgres_*; one place
# to change if the schema does).
TASKS_SQL = "SELECT key, epoch FROM corosched_tasks"
EVENTS_SQL = (
    "SELECT task_key, sequence, epoch, polls, xmin::text, encode(event, 'hex')"
    " FROM corosched_task_events ORDER BY task_key, sequence"
)

# psql's field separator: the ASCII unit separator, which no task id holds.
SEPARATOR = "\x1f"

# TaskEvent (proto/corosched/v1/scheduler.proto): the oneof's field numbers.
TRANSITION_FIELD = 3
OUTPUT_FIELD = 4
FINISHED_FIELD = 5


class Unreadable(Exception):
    """The database could not be read (exit status 2, not a violation)."""


@dataclass
class Event:
    sequence: int
    epoch: int
    polls: int
    xid: str
    kind: str  # transition, output, finished, or unknown
    state: str = ""  # a transition's state

    def describe(self):
        what = self.kind + (f" {self.state!r}" if self.kind == "transition" else "")
        return (f"seq={self.sequence} epoch={self.epoch} polls={self.polls} "
                f"xid={self.xid} {what}")


@dataclass
class Write:
    """Consecutive events of one transaction at one epoch and poll count."""
    events: list = field(default_factory=list)

    def describe(self):
        first, last = self.events[0], self.events[-1]
        return (f"epoch {first.epoch}, sequence {first.sequence}"
                f"..{last.sequence} (xid {first.xid})")


def _varint(data, pos):
    value, shift = 0, 0
    while True:
        if pos >= len(data):
            raise ValueError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(data):
    """Yields (field number, wire type, value) of a protobuf message; value
    is an int for varints and fixed ints, bytes for length-delimited."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = int.from_bytes(data[pos:pos + 8], "little"), pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = int.from_bytes(data[pos:pos + 4], "little"), pos + 4
        else:
            raise ValueError(f"wire type {wire}")
        if pos > len(data):
            raise ValueError("truncated field")
        yield number, wire, value


def decode_event(blob):
    """(kind, state) of a serialized v1.TaskEvent."""
    kinds = {TRANSITION_FIELD: "transition", OUTPUT_FIELD: "output",
             FINISHED_FIELD: "finished"}
    for number, wire, value in _fields(blob):
        if number in kinds and wire == 2:
            state = ""
            if number == TRANSITION_FIELD:
                for inner, inner_wire, inner_value in _fields(value):
                    if inner == 1 and inner_wire == 2:
                        state = inner_value.decode("utf-8", "replace")
            return kinds[number], state
    return "unknown", ""


def psql_rows(url, sql):
    command = ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
               "-F", SEPARATOR, "-d", url, "-c", sql]
    try:
        done = subprocess.run(command, capture_output=True, text=True,
                              timeout=120, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise Unreadable(f"psql: {error}") from error
    if done.returncode != 0:
        raise Unreadable(f"psql failed ({done.returncode}): {done.stderr.strip()}")
    return [line.split(SEPARATOR) for line in done.stdout.splitlines() if line]


def read_database(url):
    """({task key: row epoch}, {task key: [Event] in sequence order})."""
    row_epochs = {key: int(epoch) for key, epoch in psql_rows(url, TASKS_SQL)}
    events = {}
    for key, sequence, epoch, polls, xid, blob in psql_rows(url, EVENTS_SQL):
        try:
            kind, state = decode_event(bytes.fromhex(blob))
        except ValueError as error:
            kind, state = f"undecodable ({error})", ""
        events.setdefault(key, []).append(
            Event(int(sequence), int(epoch), int(polls), xid, kind, state))
    return row_epochs, events


def split_writes(events):
    writes = []
    for event in events:
        last = writes[-1].events[-1] if writes else None
        if (last is not None and last.xid == event.xid
                and last.epoch == event.epoch and last.polls == event.polls):
            writes[-1].events.append(event)
        else:
            writes.append(Write([event]))
    return writes


def check_order(events, row_epoch):
    """Rules 1 to 3: findings as strings."""
    findings = []
    for before, after in zip(events, events[1:]):
        if after.sequence != before.sequence + 1:
            findings.append(f"events missing between sequence {before.sequence}"
                            f" and {after.sequence}")
        if after.epoch < before.epoch:
            findings.append(
                f"epoch went back from {before.epoch} to {after.epoch} at "
                f"sequence {after.sequence}: a stale owner wrote after a takeover")
        if after.polls < before.polls:
            findings.append(
                f"poll count went back from {before.polls} to {after.polls} at "
                f"sequence {after.sequence}: a write resumed from an older state")
    for event in events:
        if event.epoch < 1 or (row_epoch is not None and event.epoch > row_epoch):
            findings.append(
                f"sequence {event.sequence} recorded at epoch {event.epoch}, "
                f"but the task's row holds epoch {row_epoch}")
    return findings


def check_polls(events):
    """Rule 4: findings as strings."""
    findings = []
    first_write = {}  # poll count -> the write that recorded the poll
    state = None  # the state the task is in before each write
    for write in split_writes(events):
        polls = write.events[0].polls
        poll = first_write.setdefault(polls, write)
        ran_a_state = any(
            event.kind == "output"
            or (event.kind == "transition" and event.state != state)
            for event in write.events)
        if poll is not write and ran_a_state:
            findings.append(
                f"poll count {polls} recorded by two writes ({poll.describe()};"
                f" then {write.describe()}): a state ran twice and was recorded"
                " twice")
        for event in write.events:
            if event.kind == "transition":
                state = event.state
    return findings


def check(row_epochs, events):
    """{task key: [findings]} of the tasks that fail."""
    failures = {}
    for key, task_events in sorted(events.items()):
        findings = check_order(task_events, row_epochs.get(key))
        findings += check_polls(task_events)
        if key not in row_epochs:
            findings.append("events of a task that has no row")
        if findings:
            failures[key] = findings
    return failures


def main(argv):
    if len(argv) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        row_epochs, events = read_database(argv[1])
    except Unreadable as error:
        print(f"epoch_checker: cannot read the database: {error}", file=sys.stderr)
        return 2
    failures = check(row_epochs, events)
    checked = sum(len(task_events) for task_events in events.values())
    for key, findings in failures.items():
        print(f"task {key!r}:")
        for finding in findings:
            print(f"  {finding}")
        print("  its events:")
        for event in events[key]:
            print(f"    {event.describe()}")
    print(f"epoch_checker: {len(events)} tasks, {checked} events, "
          f"{len(failures)} failing")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
