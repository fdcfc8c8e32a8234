"""The audit log as CloudTrail log files, laid out as CloudTrail delivers them to S3.

``DIR/AWSLogs/<account>/CloudTrail/us-east-1/YYYY/MM/DD/<account>_CloudTrail_us-east-1_<YYYYMMDDTHHmmZ>_<unique>.json.gz``
(CloudTrail User Guide, "Finding your CloudTrail log files"), each file a gzipped
``{"Records": [record, ...]}`` of ``projections.cloudtrail.cloudtrail_record``.

- Every record goes to the log of the account whose history it is (``recipientAccountId``: the
  caller's, the management account's for a membership event), as CloudTrail delivers it.
- CloudTrail delivers a trail's records about every 5 minutes: here one file holds one account's
  records of one 5-minute window of UTC (12:00:00 to 12:04:59.999999), oldest first. Its name and
  folder carry the window's end, when CloudTrail would have delivered it (so a reader that picks
  files by their time, as trailscraper does, finds every record at or before it). The unique part
  is 16 hex characters of a SHA-256 of the file's event ids: exporting the same range again
  writes the same files, byte for byte (gzip's timestamp is left at zero).
- ``start`` and ``end`` are included, to the second, as the records' ``eventTime`` shows them.
- Each file is written beside its final name and renamed into place, so a reader never sees half a file.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable

from ledger.service_layer.audit import ApiCall
from projections.cloudtrail import REGION, EventHistory, cloudtrail_record

WINDOW = timedelta(minutes=5)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass
class Exported:
    """What an export wrote: how many records, which files, for which accounts."""

    records: int = 0
    files: list[Path] = field(default_factory=list)
    accounts: set[str] = field(default_factory=set)


def export(history: EventHistory, directory: Path, start: datetime | None = None,
           end: datetime | None = None) -> Exported:
    """Write every record from ``start`` to ``end`` under ``directory`` (created if need be)."""
    done = Exported()
    window: datetime | None = None
    batch: dict[str, list[ApiCall]] = {}
    for call in history.calls(start, end):
        this = window_of(call.event_time)
        if this != window:
            _flush(directory, window, batch, done)
            window, batch = this, {}
        batch.setdefault(call.recipient_account_id, []).append(call)
    _flush(directory, window, batch, done)
    return done


def window_of(instant: datetime) -> datetime:
    """The start of the 5-minute window of UTC holding ``instant``."""
    return _EPOCH + (instant - _EPOCH) // WINDOW * WINDOW


def log_file_name(account_id: str, delivered: datetime, calls: Iterable[ApiCall]) -> Path:
    """``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<account>_CloudTrail_<region>_<stamp>_<unique>.json.gz``."""
    unique = hashlib.sha256("\n".join(call.event_id for call in calls).encode()).hexdigest()[:16]
    folder = Path("AWSLogs", account_id, "CloudTrail", REGION, f"{delivered:%Y}", f"{delivered:%m}", f"{delivered:%d}")
    return folder / f"{account_id}_CloudTrail_{REGION}_{delivered:%Y%m%dT%H%MZ}_{unique}.json.gz"


def _flush(directory: Path, window: datetime | None, batch: dict[str, list[ApiCall]], done: Exported) -> None:
    if window is None:
        return
    for account_id, calls in sorted(batch.items()):
        path = directory / log_file_name(account_id, window + WINDOW, calls)
        body = json.dumps({"Records": [cloudtrail_record(call) for call in calls]}, separators=(",", ":"))
        _write(path, gzip.compress(body.encode(), mtime=0))
        done.records += len(calls)
        done.files.append(path)
        done.accounts.add(account_id)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)
