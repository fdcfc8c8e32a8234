"""``handshake-ledger export DIR [--as-of T]``: the history as Parquet tables, for DuckDB, pandas, Athena, Spark.

Four files, each written in batches of ``BATCH`` rows (memory stays flat however long the history):

- ``handshakes.parquet``: every handshake requested up to the moment, one row each: its
  DescribeHandshake fields (``Id``, ``Arn``, ``Parties``, ``State`` as read at the moment, expiry
  derived, ``RequestedTimestamp``, ``ExpirationTimestamp``, ``Action``, ``Resources`` as JSON), who
  and where (``OrganizationId``, ``SenderAccountId``, ``RecipientAccountId``, ``TargetEmail``,
  ``ParentHandshakeId``), and ``VisibleInApi``: whether DescribeHandshake still answers it then
  (False past retention: 30 days after it closed), with ``VisibleUntil``.
- ``handshake_versions.parquet``: every version of every handshake row in the view, with the log
  positions it was valid between (``valid_from`` included, ``valid_to`` excluded; null: still valid at
  the moment) and those positions' instants; the stored state (not derived).
- ``events.parquet``: the change feed up to the moment (``handshake-ledger events``), payload as JSON.
- ``audit.parquet``: the audit's CloudTrail records up to the moment, nested objects flattened to
  ``userIdentity_*`` columns, parameters and elements as JSON.

Timestamps are UTC microseconds (``timestamp[us, tz=UTC]``). The files are written to a new folder
beside DIR and renamed into place once complete, so a failure leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from ledger.domain.instants import from_us
from projections.aws_reads import handshake_answer
from projections.cloudtrail import cloudtrail_record
from projections.feed import change_feed
from projections.queries import WITH_DOCUMENT, Moment
from projections.versions import valid_at

BATCH = 2000
UTC_US = pa.timestamp("us", tz="UTC")
PARTY = pa.struct([("Id", pa.string()), ("Type", pa.string())])

HANDSHAKES = pa.schema([
    ("Id", pa.string()), ("Arn", pa.string()), ("Action", pa.string()), ("State", pa.string()),
    ("RequestedTimestamp", UTC_US), ("ExpirationTimestamp", UTC_US), ("Parties", pa.list_(PARTY)),
    ("Resources", pa.string()), ("OrganizationId", pa.string()), ("SenderAccountId", pa.string()),
    ("RecipientAccountId", pa.string()), ("TargetEmail", pa.string()), ("ParentHandshakeId", pa.string()),
    ("ClosedTimestamp", UTC_US), ("VisibleInApi", pa.bool_()), ("VisibleUntil", UTC_US),
])
VERSIONS = pa.schema([
    ("id", pa.string()), ("valid_from", pa.int64()), ("valid_to", pa.int64()), ("valid_from_time", UTC_US),
    ("valid_to_time", UTC_US), ("organization_id", pa.string()), ("action", pa.string()), ("state", pa.string()),
    ("requested", UTC_US), ("expires", UTC_US), ("closed", UTC_US), ("parent_id", pa.string()),
    ("sender_account_id", pa.string()), ("recipient_account_id", pa.string()), ("target_email", pa.string()),
])
EVENTS = pa.schema([
    ("position", pa.int64()), ("aggregate_id", pa.string()), ("handshake_id", pa.string()), ("version", pa.int64()),
    ("type", pa.string()), ("timestamp", UTC_US), ("actor", pa.string()), ("request_id", pa.string()),
    ("payload", pa.string()),
])
IDENTITY = ("type", "principalId", "arn", "accountId", "accessKeyId", "invokedBy")
AUDIT = pa.schema([
    ("eventTime", UTC_US), ("eventName", pa.string()), ("eventSource", pa.string()), ("eventID", pa.string()),
    ("eventType", pa.string()), ("awsRegion", pa.string()), ("sourceIPAddress", pa.string()),
    ("userAgent", pa.string()), ("requestID", pa.string()), ("recipientAccountId", pa.string()),
    *[(f"userIdentity_{name}", pa.string()) for name in IDENTITY],
    ("errorCode", pa.string()), ("errorMessage", pa.string()), ("requestParameters", pa.string()),
    ("responseElements", pa.string()), ("resources", pa.string()), ("serviceEventDetails", pa.string()),
])


class ExportError(ValueError):
    """The export can't be made as asked (the folder, the instant); the message says why."""


def export(ledger: Any, directory: str | os.PathLike[str], as_of: datetime | None = None) -> dict[str, int]:
    """Write the four tables of ``ledger`` (a live ``Ledger``) as of ``as_of`` (default: now) into
    ``directory``, which must not exist or be empty. Rows per file; ExportError for bad input."""
    target = Path(directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ExportError(f"{target} exists and is not an empty folder: export writes into a new one")
    try:
        past = ledger.at(as_of or ledger.clock.now())
    except ValueError as problem:
        raise ExportError(str(problem)) from None
    moment: Moment = past.moment()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.{uuid.uuid4().hex}.partial"
    staging.mkdir()
    try:
        counts = {
            "handshakes": _write(staging / "handshakes.parquet", HANDSHAKES, _handshakes(ledger, moment)),
            "handshake_versions": _write(staging / "handshake_versions.parquet", VERSIONS, _versions(ledger, moment)),
            "events": _write(staging / "events.parquet", EVENTS, _events(ledger, moment)),
            "audit": _write(staging / "audit.parquet", AUDIT, _audit(ledger, moment)),
        }
        if target.exists():
            target.rmdir()  # empty, checked above
        staging.rename(target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return counts


def _write(path: Path, schema: pa.Schema, rows: Iterable[dict[str, Any]]) -> int:
    """Rows into one Parquet file, ``BATCH`` at a time; how many."""
    written = 0
    with pq.ParquetWriter(path, schema) as writer:
        for batch in _batches(rows):
            writer.write_batch(pa.RecordBatch.from_pylist(batch, schema=schema))
            written += len(batch)
        if written == 0:
            writer.write_table(schema.empty_table())
    return written


def _batches(rows: Iterable[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _keyset(query: Callable[[str, list[Any]], list[Any]], select: str, where: str, params: list[Any],
            keys: tuple[str, str]) -> Iterator[Any]:
    """Every row of ``select ... where`` in key order, ``BATCH`` rows per query."""
    after: tuple[Any, Any] | None = None
    while True:
        page = f" AND ({keys[0]} > ? OR ({keys[0]} = ? AND {keys[1]} > ?))" if after else ""
        rows = query(f"SELECT {select} WHERE {where}{page} ORDER BY {keys[0]}, {keys[1]} LIMIT ?",
                     [*params, *([after[0], after[0], after[1]] if after else []), BATCH])
        yield from rows
        if len(rows) < BATCH:
            return
        after = (rows[-1][keys[0].split(".")[-1]], rows[-1][keys[1].split(".")[-1]])


def _time(us: int | None) -> datetime | None:
    return None if us is None else from_us(us)


def _handshakes(ledger: Any, moment: Moment) -> Iterator[dict[str, Any]]:
    valid, params = valid_at(moment.position, "h.")
    for row in _keyset(ledger.view.query, WITH_DOCUMENT, f"{valid} AND h.requested_us <= ?",
                       [*params, moment.instant_us], ("h.requested_us", "h.id")):
        answer = handshake_answer(row, moment)
        yield {**{key: answer[key] for key in ("Id", "Arn", "Action", "State", "RequestedTimestamp",
                                               "ExpirationTimestamp", "Parties")},
               "Resources": json.dumps(answer["Resources"]), "OrganizationId": row["organization_id"],
               "SenderAccountId": row["sender_account_id"], "RecipientAccountId": row["recipient_account_id"],
               "TargetEmail": row["target_email"], "ParentHandshakeId": row["parent_id"],
               "ClosedTimestamp": _time(row["closed_us"]), "VisibleInApi": row["visible_until_us"] > moment.instant_us,
               "VisibleUntil": _time(row["visible_until_us"])}


def _versions(ledger: Any, moment: Moment) -> Iterator[dict[str, Any]]:
    upto = moment.position if moment.position is not None else ledger.view.position()
    instants: dict[int, datetime | None] = {}

    def instant(position: int | None) -> datetime | None:
        if position is None:
            return None
        if position not in instants:
            if len(instants) > BATCH:
                instants.clear()
            instants[position] = ledger.queries.instant_of(position)
        return instants[position]

    for row in _keyset(ledger.view.query, "* FROM {p}handshakes", "valid_from <= ?", [upto], ("id", "valid_from")):
        valid_to = row["valid_to"] if row["valid_to"] is not None and row["valid_to"] <= upto else None
        yield {"id": row["id"], "valid_from": row["valid_from"], "valid_to": valid_to,
               "valid_from_time": instant(row["valid_from"]), "valid_to_time": instant(valid_to),
               "organization_id": row["organization_id"], "action": row["action"], "state": row["state"],
               "requested": _time(row["requested_us"]), "expires": _time(row["expires_us"]),
               "closed": _time(row["closed_us"]), "parent_id": row["parent_id"],
               "sender_account_id": row["sender_account_id"], "recipient_account_id": row["recipient_account_id"],
               "target_email": row["target_email"]}


def _events(ledger: Any, moment: Moment) -> Iterator[dict[str, Any]]:
    upto = moment.position if moment.position is not None else ledger.view.position()
    for record in change_feed(ledger.app):
        if record["position"] > upto:
            return
        yield {**record, "timestamp": datetime.fromisoformat(record["timestamp"]),
               "payload": json.dumps(record["payload"])}


def _audit(ledger: Any, moment: Moment) -> Iterator[dict[str, Any]]:
    for call in ledger.trail.calls(end=moment.instant):
        record = cloudtrail_record(call)
        identity = record.get("userIdentity") or {}
        yield {**{name: record.get(name) for name in AUDIT.names if name in record and name != "eventTime"},
               "eventTime": call.event_time,
               **{f"userIdentity_{name}": identity.get(name) for name in IDENTITY},
               **{name: json.dumps(record[name], default=str) if record.get(name) is not None else None
                  for name in ("requestParameters", "responseElements", "resources", "serviceEventDetails")}}


def run_export(args: Any) -> int:
    """``handshake-ledger export DIR [--as-of T]``: the four files, and one line saying what went where."""
    from ledger.entrypoints.cli_commands import UsageError, opened

    target = Path(args.directory)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"{target} exists and is not an empty folder: export writes into a new one")
    with opened(args) as ledger:
        try:
            counts = export(ledger, target, args.as_of)
        except ExportError as problem:
            raise UsageError(str(problem)) from None
    print(f"Wrote {', '.join(f'{name}.parquet ({rows} rows)' for name, rows in counts.items())} to {target}.")
    return 0
