"""LookupEvents filtered by ResourceName / ResourceType in a long history: how long one page takes.

    python scripts/bench_lookup.py [--rows 100000] [--data DIR]

Writes ``--rows`` audit records (one account's history: refused DeclineHandshake calls, each
naming one of 1,000 handshakes, as a busy account's would) into a fresh SQLite ledger, then
times LookupEvents' first page (50 events) through ``EventHistory.lookup``, by a rare resource
(a handshake named by 1 record in 1,000), by a common type, and unfiltered; the median of 20.
The same script runs against any checkout (``PYTHONPATH``), so before and after compare.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ledger import open_ledger
from ledger.service_layer.audit import ApiCall
from projections.cloudtrail import Lookup

ACCOUNT = "111111111111"
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def fill(ledger: object, rows: int) -> None:
    recorder = ledger.app.recorder  # type: ignore[attr-defined]
    batch: list[ApiCall] = []
    for n in range(rows):
        handshake = f"h-{n % 1000:08d}bench"
        batch.append(ApiCall(
            event_time=T0 + timedelta(seconds=n), event_name="DeclineHandshake", recipient_account_id=ACCOUNT,
            account_id=ACCOUNT, request_parameters={"HandshakeId": handshake}, error_code="AccessDeniedException",
            error_message="Only the recipient of a handshake can decline it.",
            resources=(("AWS::Organizations::Handshake", handshake),)))
        if len(batch) == 5000:
            recorder.append_calls(batch)
            batch = []
    if batch:
        recorder.append_calls(batch)


def timed(ledger: object, attribute: tuple[str, str] | None) -> float:
    trail = ledger.trail  # type: ignore[attr-defined]
    samples = []
    for _ in range(20):
        began = time.perf_counter()
        trail.lookup(Lookup(ACCOUNT, attribute), after=None, limit=50)
        samples.append(time.perf_counter() - began)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--data", type=Path, default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        data = args.data or Path(scratch) / "data"
        with open_ledger(str(data)) as ledger:
            began = time.perf_counter()
            fill(ledger, args.rows)
            print(f"{args.rows} audit rows written in {time.perf_counter() - began:.1f} s")
            for label, attribute in (("ResourceName (1 in 1,000)", ("ResourceName", "h-00000007bench")),
                                     ("ResourceType (all)", ("ResourceType", "AWS::Organizations::Handshake")),
                                     ("ResourceName (none)", ("ResourceName", "h-nothing")),
                                     ("unfiltered", None)):
                print(f"  LookupEvents {label:28} first page: {timed(ledger, attribute):8.2f} ms (median of 20)")


if __name__ == "__main__":
    main()
