"""events: the change feed as JSON Lines, resumable by position, followed live."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from ledger import open_ledger
from tests.cli.conftest import Demo
from tests.cli.runner import follow

WAIT = 15.0


def feed(demo: Demo, *args: str) -> list[dict[str, Any]]:
    result = demo.run("events", *args)
    assert result.code == 0, result.err
    return [json.loads(line) for line in result.out.splitlines()]


class TestEvents:
    def test_every_event_in_log_order_with_its_envelope(self, demo: Demo) -> None:
        records = feed(demo)
        positions = [r["position"] for r in records]
        assert positions[0] == 1 and len(records) == demo.summary["Events"]
        assert all(a < b for a, b in zip(positions, positions[1:]))
        assert set(records[0]) == {"position", "aggregate_id", "handshake_id", "transfer_id", "version", "type", "timestamp", "actor",
                                   "request_id", "payload"}

    def test_after_resumes_right_after_the_position(self, demo: Demo) -> None:
        records = feed(demo)
        middle = records[len(records) // 2]["position"]
        resumed = feed(demo, "--after", str(middle))
        assert resumed[0]["position"] == middle + 1
        assert resumed == [r for r in records if r["position"] > middle]

    def test_after_the_last_position_prints_nothing(self, demo: Demo) -> None:
        assert feed(demo, "--after", str(demo.summary["Events"])) == []


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The follower's stdout, line by line, readable with a timeout."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


@pytest.fixture
def small_ledger(tmp_path: Path) -> str:
    data = str(tmp_path / "ledger")
    with open_ledger(data) as ledger:
        ledger.register_account("555555555555", "first@example.com", "first")
    return data


@pytest.mark.parametrize("ending", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_follow_prints_what_another_process_appends_then_stops_cleanly(small_ledger: str, ending: int) -> None:
    with open_ledger(small_ledger) as ledger:
        last = ledger.app.recorder.max_notification_id()
    process = follow("events", "--data", small_ledger, "--after", str(last), "--follow")
    try:
        lines = lines_of(process)
        with open_ledger(small_ledger) as ledger:  # the test is the other process
            ledger.register_account("666666666666", "second@example.com", "second")
        record = json.loads(lines.get(timeout=WAIT))
        assert (record["position"], record["aggregate_id"], record["type"]) == \
            (last + 1, "666666666666", "Account.Created:v1")
        process.send_signal(ending)
        assert process.wait(timeout=WAIT) == 0
        assert process.stderr is not None and process.stderr.read() == ""
    finally:
        if process.poll() is None:
            process.kill()
