"""Stored events written in bulk, for a store being filled from nothing (the bulk demo).

``insert_in_bulk(recorder, rows)``: rows ``(originator_id, originator_version, topic, state)``, the
columns of eventsourcing's stored events, in one transaction. SQLite: one ``executemany`` of the
recorder's own INSERT (its ``insert_events`` runs one statement per event, to collect row ids the
bulk has no use for), with ``synchronous=NORMAL`` for that transaction: in WAL mode a power cut can
then lose the last commits, never corrupt the file, and a half-written demo location holds events,
which the demo refuses (it needs an empty location). The connection's FULL is restored after it.
Elsewhere (PostgreSQL): the recorder's ``insert_events``.
"""

from __future__ import annotations

from typing import Any, Sequence

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteDatastore

Row = tuple[str, int, str, bytes]


def insert_in_bulk(recorder: Any, rows: Sequence[Row]) -> None:
    """Append ``rows`` to the recorder's events table in one transaction (IntegrityError if one is there)."""
    datastore = getattr(recorder, "datastore", None)
    if not isinstance(datastore, SQLiteDatastore) or datastore.pool.is_sqlite_memory_mode:
        recorder.insert_events([StoredEvent(*row) for row in rows])
        return
    with datastore.get_connection(commit=True) as connection:
        cursor = connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")  # not allowed inside a transaction
        try:
            with connection.transaction(commit=True) as transaction:
                transaction.executemany(recorder.insert_events_statement, rows)
        finally:
            cursor.execute("PRAGMA synchronous=FULL")
