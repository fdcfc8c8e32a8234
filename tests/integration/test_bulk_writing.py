"""The bulk demo's fast writing changes nothing of the history: the log holds, byte for byte, what
each event written through ``mapper.to_stored_event`` and ``recorder.insert_events`` would hold, and
the view rebuilt in a second process while the log was written equals a rebuild afterwards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ledger.entrypoints.bootstrap import open_ledger
from ledger.entrypoints.bulk_demo import BulkSeeder, seed_bulk
from ledger.entrypoints.bulk_encoding import BulkEncoder
from ledger.entrypoints.bulk_rebuild import ConcurrentRebuild
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
