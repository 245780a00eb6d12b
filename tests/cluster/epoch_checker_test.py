#!/usr/bin/env python3
"""Self-test of epoch_checker.py on hand-made databases: one history as a
correct cluster writes it (which must pass), and one violation of each rule
(each of which must fail, naming the task and the rule).

Run under tests/testing/postgres.sh, which provides PG_URL; each case makes
a database of its own on that server. Registered with CTest
(tests/cluster/CMakeLists.txt).
"""

import os
import re
import subprocess
import sys
import unittest
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "epoch_checker.py")

# The tables as the store creates them, reduced to the columns the checker
# reads (server/store/postgres_*).
SCHEMA = """
CREATE TABLE corosched_tasks (
  key TEXT PRIMARY KEY, owner TEXT NOT NULL DEFAULT '',
  epoch BIGINT NOT NULL, finished_at TIMESTAMPTZ);
CREATE TABLE corosched_task_events (
  task_key TEXT NOT NULL, sequence BIGINT NOT NULL, epoch BIGINT NOT NULL,
  polls BIGINT NOT NULL, event BYTEA NOT NULL,
  PRIMARY KEY (task_key, sequence));
"""

# v1.TaskStatus (proto/corosched/v1/task_state.proto).
READY, AWAITING, COMPLETED, CANCELLED = 1, 3, 4, 6


def varint(value):
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def tag(number, wire):
    return varint(number << 3 | wire)


def length_delimited(number, payload):
    return tag(number, 2) + varint(len(payload)) + payload


def text(number, value):
    return length_delimited(number, value.encode())


def task_event(sequence, kind, state="", status=0, output=""):
    """A serialized v1.TaskEvent (proto/corosched/v1/scheduler.proto)."""
    body = tag(1, 0) + varint(sequence)
    if kind == "transition":
        body += length_delimited(3, text(1, state) + tag(2, 0) + varint(status))
    elif kind == "output":
        body += length_delimited(4, tag(1, 0) + varint(1) + text(2, output))
    elif kind == "finished":
        body += length_delimited(5, tag(1, 0) + varint(status))
    return body


class History:
    """A task's events, written one transaction per write as the store does."""

    def __init__(self, key):
        self.key = key
        self.sequence = 0
        self.statements = []

    def write(self, epoch, polls, *events):
        """One write: `events` are (kind, state, status) or (kind, output)."""
        rows = []
        for event in events:
            self.sequence += 1
            kind = event[0]
            if kind == "output":
                blob = task_event(self.sequence, kind, output=event[1])
            else:
                blob = task_event(self.sequence, kind, *event[1:])
            rows.append(f"('{self.key}', {self.sequence}, {epoch}, {polls}, "
                        f"'\\x{blob.hex()}'::bytea)")
        self.statements.append(
            "INSERT INTO corosched_task_events "
            "(task_key, sequence, epoch, polls, event) VALUES " + ", ".join(rows))
        return self

    def skip(self, count):
        """Leaves `count` sequence numbers out (events lost)."""
        self.sequence += count
        return self


def hello(key, epochs=(1, 1, 1, 1)):
    """hello.json's writes: created, then three polls; epochs per write."""
    return (History(key)
            .write(epochs[0], 0, ("transition", "HELLO", READY))
            .write(epochs[1], 1, ("output", "Hello, "),
                   ("transition", "WORLD", READY))
            .write(epochs[2], 2, ("output", "World!\n"),
                   ("transition", "END", READY))
            .write(epochs[3], 3, ("transition", "END", COMPLETED),
                   ("finished", "", COMPLETED)))


class EpochCheckerTest(unittest.TestCase):
    def setUp(self):
        base = os.environ.get("PG_URL")
        self.assertTrue(base, "PG_URL is not set: run under tests/testing/postgres.sh")
        name = "checker_" + uuid.uuid4().hex[:12]
        self.psql(base, f"CREATE DATABASE {name}")
        self.url = base.rsplit("/", 1)[0] + "/" + name
        self.psql(self.url, SCHEMA)

    def psql(self, url, sql):
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url,
                        "-c", sql], check=True, capture_output=True)

    def store(self, history, row_epoch):
        self.psql(self.url, "INSERT INTO corosched_tasks (key, epoch) VALUES "
                  f"('{history.key}', {row_epoch})")
        for statement in history.statements:
            self.psql(self.url, statement)

    def run_checker(self, url=None):
        done = subprocess.run([sys.executable, CHECKER, url or self.url],
                              capture_output=True, text=True, timeout=120)
        return done.returncode, done.stdout + done.stderr

    def assert_fails(self, task, finding):
        code, output = self.run_checker()
        self.assertEqual(code, 1, output)
        self.assertIn(f"task '{task}':", output)
        self.assertRegex(output, finding)

    def test_passes_a_correct_cluster_history(self):
        # Run on one daemon; taken over twice (epochs 2, then 3) between polls.
        self.store(hello("one-daemon"), row_epoch=1)
        self.store(hello("taken-over", epochs=(1, 2, 2, 3)), row_epoch=3)
        # Cancelled after a takeover before the new owner polled: a second
        # write at poll count 1, at a higher epoch, that runs no state.
        self.store(History("cancelled")
                   .write(1, 0, ("transition", "WAIT", READY))
                   .write(1, 1, ("output", "waiting\n"),
                          ("transition", "WAIT", AWAITING))
                   .write(2, 1, ("transition", "WAIT", CANCELLED),
                          ("finished", "", CANCELLED)), row_epoch=2)
        code, output = self.run_checker()
        self.assertEqual(code, 0, output)
        self.assertIn("3 tasks, 19 events, 0 failing", output)

    def test_fails_when_a_stale_owner_writes_after_a_takeover(self):
        self.store(hello("stale", epochs=(1, 2, 1, 2)), row_epoch=2)
        self.assert_fails("stale", r"epoch went back from 2 to 1 at sequence 4")

    def test_fails_when_two_daemons_record_one_poll(self):
        # Both owners ran poll 1 (HELLO) and both recorded it, epochs rising:
        # only the poll count shows it.
        history = (History("twice")
                   .write(1, 0, ("transition", "HELLO", READY))
                   .write(1, 1, ("output", "Hello, "), ("transition", "WORLD", READY))
                   .write(2, 1, ("output", "Hello, "), ("transition", "WORLD", READY)))
        self.store(history, row_epoch=2)
        self.assert_fails("twice", r"poll count 1 recorded by two writes "
                          r"\(epoch 1, sequence 2\.\.3 .*epoch 2, sequence 4\.\.5")

    def test_fails_when_one_epoch_records_a_poll_twice(self):
        history = (History("same-epoch")
                   .write(1, 0, ("transition", "HELLO", READY))
                   .write(1, 1, ("output", "Hello, "), ("transition", "WORLD", READY))
                   .write(1, 1, ("transition", "END", READY)))
        self.store(history, row_epoch=1)
        self.assert_fails("same-epoch", r"poll count 1 recorded by two writes")

    def test_fails_when_the_poll_count_goes_back(self):
        history = (History("resumed-old")
                   .write(1, 0, ("transition", "HELLO", READY))
                   .write(1, 2, ("output", "Hello, "), ("transition", "WORLD", READY))
                   .write(2, 1, ("transition", "WORLD", AWAITING)))
        self.store(history, row_epoch=2)
        self.assert_fails("resumed-old", r"poll count went back from 2 to 1")

    def test_fails_when_events_are_missing(self):
        history = (History("gap")
                   .write(1, 0, ("transition", "HELLO", READY))
                   .skip(2)
                   .write(1, 2, ("output", "World!\n")))
        self.store(history, row_epoch=1)
        self.assert_fails("gap", r"events missing between sequence 1 and 4")

    def test_fails_on_an_epoch_the_task_never_had(self):
        self.store(hello("future", epochs=(1, 1, 1, 5)), row_epoch=2)
        self.assert_fails("future", r"recorded at epoch 5, but the task's row "
                          r"holds epoch 2")

    def test_reports_only_the_failing_task(self):
        self.store(hello("good"), row_epoch=1)
        self.store(hello("bad", epochs=(2, 1, 1, 1)), row_epoch=2)
        code, output = self.run_checker()
        self.assertEqual(code, 1, output)
        self.assertNotIn("task 'good'", output)
        self.assertIn("2 tasks, 14 events, 1 failing", output)

    def test_an_unreadable_database_is_not_a_pass(self):
        code, output = self.run_checker(self.url + "_missing")
        self.assertEqual(code, 2, output)
        self.assertIn("cannot read the database", output)


if __name__ == "__main__":
    unittest.main(verbosity=2)
