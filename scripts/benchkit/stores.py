"""Where a bench ledger lives (a scratch folder of SQLite files, or fresh PostgreSQL databases), and
the raw limits of that store: one-row commits, table sizes on disk, a connection to the views."""

from __future__ import annotations

import sqlite3
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator


class SqliteStore:
    kind = "sqlite"

    def __init__(self, scratch: Path):
        self.scratch = scratch

    def location(self, name: str) -> str:
        return str(self.scratch / name)

    @contextmanager
    def raw_table(self, ledger: Any) -> Iterator[RawCommits]:
        """A table shaped like eventsourcing's stored_events, WAL, the ledger's synchronous setting."""
        synchronous = _sqlite_pragma(ledger.app.recorder.datastore, "synchronous")
        db = sqlite3.connect(self.scratch / f"raw-{uuid.uuid4().hex[:8]}.sqlite", isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.execute("CREATE TABLE stored_events (originator_id TEXT, originator_version INTEGER, topic TEXT, "
                   "state BLOB, PRIMARY KEY (originator_id, originator_version))")

        def insert(row: tuple[Any, ...]) -> None:
            db.execute("BEGIN")
            db.execute("INSERT INTO stored_events VALUES (?,?,?,?)", row)
            db.execute("COMMIT")

        try:
            yield RawCommits(insert, f"raw sqlite3 1-row txn/s (WAL, synchronous={synchronous})")
        finally:
            db.close()

    @staticmethod
    def relation_bytes(db: Any, table: str) -> int:
        """A table and its indexes on disk (SQLite's dbstat)."""
        rows = db.execute("SELECT SUM(pgsize) FROM dbstat WHERE name = ? OR name IN "
                          "(SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?)", (table, table))
        return int(rows.fetchone()[0] or 0)

    @contextmanager
    def view_connection(self, ledger: Any) -> Iterator[tuple[Any, str]]:
        db = sqlite3.connect(ledger.store.env["SQLITE_DBNAME"], uri=True)
        try:
            yield db, "?"
        finally:
            db.close()

    def close(self) -> None:
        pass


def _sqlite_pragma(datastore: Any, name: str) -> int:
    with datastore.transaction(commit=False) as cursor:
        cursor.execute(f"PRAGMA {name}")
        return int(cursor.fetchone()[0])


class RawCommits:
    """One-row transactions of a given size, timed: the floor under a durable command."""

    def __init__(self, insert: Callable[[tuple[Any, ...]], Any], title: str):
        self.insert = insert
        self.title = title
        self.rows = 0

    def commit(self, count: int, row_bytes: int) -> float:
        """Seconds for ``count`` transactions of one ``row_bytes`` row each."""
        topic = "handshake-ledger:Handshake.Created:v1"
        state = b"x" * max(1, row_bytes - len(topic) - 18)
        rows = [(f"h-{n:016x}", 1, topic, state) for n in range(self.rows, self.rows + count)]
        self.rows += count
        began = time.perf_counter()
        for row in rows:
            self.insert(row)
        return time.perf_counter() - began


class PostgresStore:
    kind = "postgres"

    def __init__(self, server_url: str):
        try:
            import psycopg
        except ImportError:
            raise SystemExit("--store postgres needs psycopg (pip install 'psycopg[binary]')") from None
        self.psycopg = psycopg
        self.server_url = server_url
        self.databases: list[str] = []
        try:
            with psycopg.connect(server_url, autocommit=True, connect_timeout=5) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as problem:
            raise SystemExit(f"--store postgres: can't reach {server_url}: {problem}".strip()) from None

    def location(self, name: str) -> str:
        from urllib.parse import urlparse, urlunparse

        dbname = f"hl_bench_{name.replace('-', '_')}_{uuid.uuid4().hex[:8]}"
        with self.psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        self.databases.append(dbname)
        return urlunparse(urlparse(self.server_url)._replace(path="/" + dbname))

    @contextmanager
    def raw_table(self, ledger: Any) -> Iterator[RawCommits]:
        """A table shaped like eventsourcing's events table, one autocommitted INSERT per row."""
        with self.psycopg.connect(self.location("raw"), autocommit=True) as conn:
            conn.execute("CREATE TABLE raw_events (originator_id TEXT, originator_version INTEGER, topic TEXT, "
                         "state BYTEA, notification_id BIGSERIAL, PRIMARY KEY (originator_id, originator_version))")
            yield RawCommits(lambda row: conn.execute("INSERT INTO raw_events VALUES (%s,%s,%s,%s)", row),
                             "raw psycopg 1-row txn/s")

    @staticmethod
    def relation_bytes(db: Any, table: str) -> int:
        """A table and its indexes on disk (pg_total_relation_size)."""
        return int(db.execute("SELECT pg_total_relation_size(%s)", (table,)).fetchone()[0])

    @contextmanager
    def view_connection(self, ledger: Any) -> Iterator[tuple[Any, str]]:
        conn = self.psycopg.connect(ledger.store.location, autocommit=True)
        try:
            yield conn, "%s"
        finally:
            conn.close()

    def close(self) -> None:
        with self.psycopg.connect(self.server_url, autocommit=True) as conn:
            for dbname in self.databases:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
