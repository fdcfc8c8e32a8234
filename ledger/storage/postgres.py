"""PostgreSQL specifics, imported only when the data lives in PostgreSQL."""

from __future__ import annotations

import secrets
import threading
from typing import Any, Sequence

import psycopg
from eventsourcing.persistence import OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresTrackingRecorder
from psycopg import Cursor
from psycopg.rows import DictRow

from ledger.storage.audit_table import AuditLogRecorder

SCHEMA_LOCK = 0x4853_4C45_4447_4552  # any fixed bigint: the advisory lock of our DDL
COMMAND_LOCK = 0x4853_434F_4D4D_414E  # and the one commands take turns on


class _TakingTurnsAtDDL:
    """Create the tables while holding an advisory lock, one process at a time.

    PostgreSQL's DDL is not safe to run concurrently: eventsourcing re-runs CREATE OR REPLACE
    FUNCTION at every start, which fails with "tuple concurrently updated" when processes
    start together, and CREATE TABLE IF NOT EXISTS fails on a catalog key in a fresh database.
    """

    datastore: Any

    def create_table(self) -> None:
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", [SCHEMA_LOCK])
            try:
                super().create_table()  # type: ignore[misc]
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", [SCHEMA_LOCK])


class PostgresLedgerRecorder(_TakingTurnsAtDDL, AuditLogRecorder, PostgresApplicationRecorder):
    """The events, and the audit log beside them in the same transactions."""

    placeholder = "%s"
    autoincrement = "BIGSERIAL PRIMARY KEY"
    contains = "strpos({column}, ?) > 0"
    table_exists = "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = ?"

    @property
    def audit_table(self) -> str:
        return f"{self.events_table_name.removesuffix('_events')}_audit_log"

    def _insert_events(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        self._insert_audit(curs, kwargs.get("audit"))


class PostgresViewRecorder(_TakingTurnsAtDDL, PostgresTrackingRecorder):
    pass


def check_reachable(env: dict[str, str]) -> None:
    """Connect once (5 s at most): eventsourcing's OperationalError with the server's reason if not."""
    try:
        psycopg.connect(host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], dbname=env["POSTGRES_DBNAME"],
                        user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"] or None,
                        connect_timeout=5).close()
    except psycopg.Error as problem:
        raise OperationalError(str(problem).strip()) from None


def postgres_secret(factory: Any) -> bytes:
    with factory.datastore.transaction(commit=True) as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK])
        cursor.execute("CREATE TABLE IF NOT EXISTS handshake_ledger_secret (id INTEGER PRIMARY KEY, k BYTEA NOT NULL)")
        cursor.execute("INSERT INTO handshake_ledger_secret VALUES (1, %s) ON CONFLICT (id) DO NOTHING",
                       [secrets.token_bytes(32)])
        cursor.execute("SELECT k FROM handshake_ledger_secret WHERE id = 1")
        return bytes(cursor.fetchone()["k"])


def try_advisory_lock(env: dict[str, str], key: int, *, shared: bool) -> Any | None:
    """A connection of its own holding the session-level advisory lock ``key`` (None: taken)."""
    connection = psycopg.connect(
        host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], dbname=env["POSTGRES_DBNAME"],
        user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"] or None, autocommit=True,
    )
    function = "pg_try_advisory_lock_shared" if shared else "pg_try_advisory_lock"
    row = connection.execute(f"SELECT {function}(%s)", [key]).fetchone()
    if row is None or not row[0]:
        connection.close()
        return None
    return connection


class AdvisoryLock:
    """Threads of this process, then every process on the database, take turns.

    A session-level advisory lock on a connection of its own: a process that dies
    mid-command loses its session, and with it the lock.
    """

    def __init__(self, env: dict[str, str]):
        self._env = env
        self._threads = threading.Lock()
        self._connection: Any = None

    def _connect(self) -> Any:
        if self._connection is None or self._connection.closed:
            env = self._env
            self._connection = psycopg.connect(
                host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], dbname=env["POSTGRES_DBNAME"],
                user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"] or None, autocommit=True,
            )
        return self._connection

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            self._connect().execute("SELECT pg_advisory_lock(%s)", [COMMAND_LOCK])
        except BaseException:
            self._connection = None
            self._threads.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            self._connection.execute("SELECT pg_advisory_unlock(%s)", [COMMAND_LOCK])
        except psycopg.Error:
            self._connection = None  # the session is gone, and the lock with it
        finally:
            self._threads.release()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
