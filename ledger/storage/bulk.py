"""Stored events written in bulk, for a store being filled from nothing (the bulk demo).

``BulkInserter(recorder).insert(rows)``: rows ``(originator_id, originator_version, topic, state)``,
the columns of eventsourcing's stored events, in one transaction. SQLite: one ``executemany`` of the
recorder's own INSERT (its ``insert_events`` runs one statement per event, to collect row ids the
bulk has no use for), with ``synchronous=NORMAL`` for the bulk's transactions: in WAL mode a power cut can
then lose the last commits, never corrupt the file, and a half-written demo location holds events,
which the demo refuses (it needs an empty location). The connection's usual settings (eventsourcing
keeps SQLite's defaults) are restored after it.
Elsewhere (PostgreSQL): the recorder's ``insert_events``.
"""

from __future__ import annotations

from typing import Any, Sequence

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteDatastore

Row = tuple[str, int, str, bytes]
# Per connection, for the bulk's transactions: no fsync at commit; checkpoints every 80 MB of WAL
# rather than 4 MB (an index page dirtied again and again is copied to the file once per checkpoint);
# 100 MB of page cache for the primary key's random inserts (at 100k handshakes: 1.4 of 14.5 s CPU).
BULK_PRAGMAS = ("synchronous=NORMAL", "wal_autocheckpoint=20000", "cache_size=-100000")
USUAL_PRAGMAS = ("synchronous=FULL", "wal_autocheckpoint=1000", "cache_size=-2000")  # SQLite's defaults


class BulkInserter:
    """``with BulkInserter(recorder) as bulk: bulk.insert(rows)``: each call appends ``rows`` to the
    recorder's events table in one transaction (IntegrityError, nothing written, if one is there).

    SQLite files: the writer connection is held, with ``BULK_PRAGMAS``, until the block ends.
    """

    def __init__(self, recorder: Any):
        self.recorder = recorder
        datastore = getattr(recorder, "datastore", None)
        self.sqlite = isinstance(datastore, SQLiteDatastore) and not datastore.pool.is_sqlite_memory_mode
        self._held: Any = None
        self._connection: Any = None

    def __enter__(self) -> BulkInserter:
        if self.sqlite:
            self._held = self.recorder.datastore.get_connection(commit=True)
            self._connection = self._held.__enter__()
            self._pragmas(BULK_PRAGMAS)  # not allowed inside a transaction
        return self

    def insert(self, rows: Sequence[Row]) -> None:
        if self._connection is None:
            self.recorder.insert_events([StoredEvent(*row) for row in rows])
            return
        with self._connection.transaction(commit=True) as transaction:
            transaction.executemany(self.recorder.insert_events_statement, rows)

    def __exit__(self, *exc: object) -> None:
        if self._held is not None:
            try:
                self._pragmas(USUAL_PRAGMAS)
            finally:
                self._held.__exit__(None, None, None)
                self._held = self._connection = None

    def _pragmas(self, pragmas: Sequence[str]) -> None:
        cursor = self._connection.cursor()
        for pragma in pragmas:
            cursor.execute(f"PRAGMA {pragma}")
