"""Where the ledger keeps things: eventsourcing's own SQLite or PostgreSQL infrastructure.

One SQLite file per application or projection (eventsourcing's SQLite tables have fixed
names), all in one data folder; on PostgreSQL, one database with per-name tables.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresTrackingRecorder
from eventsourcing.utils import Environment

SECRET_FILE = "secret.key"
SCHEMA_LOCK = 0x4853_4C45_4447_4552  # any fixed bigint: the advisory lock of our DDL


@dataclass
class Store:
    name: str
    env: dict[str, str]
    location: str
    placeholder: str = "?"
    _factory: Any = field(default=None, repr=False)

    @property
    def factory(self) -> Any:
        if self._factory is None:
            self._factory = InfrastructureFactory.construct(Environment(self.name, self.env))
        return self._factory

    def tracking_recorder(self, recorder_class: Any = None) -> Any:
        return self.factory.tracking_recorder(recorder_class)

    def secret(self) -> bytes:
        """The key that signs NextTokens, kept with the data so tokens survive a restart."""
        if self.location == ":memory:":
            return _memory_secret
        if self.placeholder == "%s":
            return _postgres_secret(self.factory)
        path = Path(self.location) / SECRET_FILE
        if not path.exists():
            path.write_bytes(secrets.token_bytes(32))
            path.chmod(0o600)
        return path.read_bytes()

    def close(self) -> None:
        if self._factory is not None:
            self._factory.close()


_memory_secret = secrets.token_bytes(32)


def is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def open_store(location: str, name: str) -> Store:
    if is_postgres(location):
        return Store(name, postgres_env(location), location, placeholder="%s")
    if location == ":memory:":
        dbname = f"file:{name}-{uuid.uuid4().hex}?mode=memory&cache=shared"
    else:
        Path(location).mkdir(parents=True, exist_ok=True)
        dbname = str(Path(location) / f"{name.lower()}.sqlite")
    return Store(name, {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": dbname,
                        "SQLITE_LOCK_TIMEOUT": "30"}, location)


def postgres_env(url: str) -> dict[str, str]:
    parts = urlparse(url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": parts.path.lstrip("/") or "postgres",
        "POSTGRES_HOST": parts.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parts.port or 5432),
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_LOCK_TIMEOUT": "10",
        # One connection kept per pool (a ledger has three: events, views, secret), more
        # only under concurrent use: many processes on one server stay under max_connections.
        "POSTGRES_POOL_SIZE": "1",
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "60",
        "APPLICATION_RECORDER_TOPIC": f"{__name__}:PostgresLedgerRecorder",
        "TRACKING_RECORDER_TOPIC": f"{__name__}:PostgresViewRecorder",
    }


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


class PostgresLedgerRecorder(_TakingTurnsAtDDL, PostgresApplicationRecorder):
    pass


class PostgresViewRecorder(_TakingTurnsAtDDL, PostgresTrackingRecorder):
    pass


def _postgres_secret(factory: Any) -> bytes:
    with factory.datastore.transaction(commit=True) as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SCHEMA_LOCK])
        cursor.execute("CREATE TABLE IF NOT EXISTS handshake_ledger_secret (id INTEGER PRIMARY KEY, k BYTEA NOT NULL)")
        cursor.execute("INSERT INTO handshake_ledger_secret VALUES (1, %s) ON CONFLICT (id) DO NOTHING",
                       [secrets.token_bytes(32)])
        cursor.execute("SELECT k FROM handshake_ledger_secret WHERE id = 1")
        return bytes(cursor.fetchone()["k"])
