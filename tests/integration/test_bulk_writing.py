"""The bulk demo's fast writing changes nothing of the history: the log holds, byte for byte, what
each event written through ``mapper.to_stored_event`` and ``recorder.insert_events`` would hold, and
the view rebuilt in a second process while the log was written equals a rebuild afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from ledger.entrypoints.bootstrap import open_ledger
from ledger.entrypoints.bulk_demo import BulkSeeder, seed_bulk
from ledger.entrypoints.bulk_encoding import BulkEncoder
from ledger.entrypoints.bulk_rebuild import ConcurrentRebuild, FollowingRecorder, WriterGone
from tests.conftest import new_location

END = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
STORY: dict[str, Any] = {"handshakes": 2_500, "seed": 11, "end": END}


def _log(ledger: Any) -> list[tuple[Any, ...]]:
    found = ledger.app.recorder.select_notifications(start=1, limit=10**9)
    return [(n.id, n.originator_id, n.originator_version, n.topic, bytes(n.state)) for n in found]


def _view(ledger: Any) -> list[tuple[Any, ...]]:
    return sorted(tuple(row) for row in ledger.view.facts())


def test_the_bulk_log_and_view_are_what_the_recorder_and_a_rebuild_make(tmp_path: Path) -> None:
    with new_location(tmp_path) as slow, open_ledger(slow) as reference:
        mapper, recorder = reference.app.mapper, reference.app.recorder

        def write(events: list[Any]) -> None:  # the way every event was written before the bulk path
            recorder.insert_events([mapper.to_stored_event(event) for event in events])

        BulkSeeder(write, location=slow, batch=3_000, **STORY).run()
        reference.rebuild()
        expected_log, expected_view = _log(reference), _view(reference)
    with new_location(tmp_path) as fast, open_ledger(fast) as ledger:
        rebuild = ConcurrentRebuild(fast)
        seeded = seed_bulk(ledger.app, location=fast, batch=3_000, before_write=rebuild.wait_ready, **STORY)
        assert rebuild.finish(ledger) == seeded.events == len(expected_log) > 10_000  # all of it in the second process
        assert _log(ledger) == expected_log
        assert _view(ledger) == expected_view
        assert ledger.analytics(by="action")  # the swapped-in view answers


@dataclass
class Measured:
    """An event whose state holds a float: orjson writes 1e16 where json writes 1e+16."""

    originator_id: str
    originator_version: int
    reading: float
    timestamp: datetime


def test_a_topic_orjson_would_write_otherwise_is_written_by_the_mapper() -> None:
    with open_ledger(":memory:") as ledger:
        encoder, mapper = BulkEncoder(ledger.app.mapper), ledger.app.mapper
        events = [Measured("m-1", 1, 1e16, END), Measured("m-1", 2, 0.5, END)]
        rows = encoder.encode(events)
        stored = [mapper.to_stored_event(e) for e in events]
        assert rows == [(s.originator_id, s.originator_version, s.topic, s.state) for s in stored]
        assert b"1e+16" in rows[0][3]


def _following(ledger: Any, done: threading.Event, alive: bool = True) -> FollowingRecorder:
    return FollowingRecorder(ledger.app.recorder, done, poll=0.01, writer_alive=lambda: alive)


def test_a_read_of_a_log_being_written_waits_for_a_full_batch_or_the_writers_end() -> None:
    with open_ledger(":memory:") as ledger:
        written = seed_bulk(ledger.app, location=":memory:", **{**STORY, "handshakes": 40}).events
        done = threading.Event()
        assert len(_following(ledger, done).select_notifications(1, written)) == written  # a full batch at once
        threading.Timer(0.2, done.set).start()
        assert len(_following(ledger, done).select_notifications(1, written + 1)) == written  # once done
        assert done.is_set()
        with pytest.raises(WriterGone):  # the writer died: the rebuild stops, not waits forever
            _following(ledger, threading.Event(), alive=False).select_notifications(1, written + 1)


KILLED_WRITER = """
import os, signal, sys
from ledger.entrypoints.bootstrap import open_ledger
from ledger.entrypoints.bulk_rebuild import ConcurrentRebuild, FollowingRecorder, WriterGone
if __name__ == "__main__":
    with open_ledger(sys.argv[1]) as ledger:
        rebuild = ConcurrentRebuild(sys.argv[1])
        rebuild.wait_ready()
        print(rebuild.process.pid, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_second_process_ends_when_the_writer_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "killed_writer.py"
    script.write_text(KILLED_WRITER)
    writer = subprocess.Popen([sys.executable, str(script), str(tmp_path / "data")], stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    follower = int(writer.stdout.readline())  # (the follower holds the pipe open as long as it lives)
    assert writer.wait(timeout=60) == -signal.SIGKILL
    for _ in range(300):  # it notices within a poll (0.05 s); 30 s at most
        if not Path(f"/proc/{follower}").exists() or "zombie" in Path(f"/proc/{follower}/status").read_text():
            break
        time.sleep(0.1)
    else:
        os.kill(follower, signal.SIGKILL)
        pytest.fail("the second process went on waiting for a writer that was killed")
