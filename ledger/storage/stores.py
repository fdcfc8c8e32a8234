"""Where the ledger keeps things: eventsourcing's own SQLite or PostgreSQL infrastructure.

One SQLite file per application or projection (eventsourcing's SQLite tables have fixed
names), all in one data folder; on PostgreSQL, one database with per-name tables.
"""

from __future__ import annotations

import contextlib
import fcntl
import secrets
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import unquote, urlparse

from eventsourcing.persistence import InfrastructureFactory, IntegrityError, PersistenceError, StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteTrackingRecorder
from eventsourcing.utils import Environment

from ledger.storage.audit_table import AuditLogRecorder

# What a store raises when it can't be opened or read (a locked or corrupt file, a refused connection).
STORE_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, PersistenceError)
SECRET_FILE = "secret.key"
COMMAND_LOCK_FILE = "commands.lock"
SCHEMA_LOCK_FILE = "schema.lock"
OCCUPANCY_LOCK_FILE = "occupancy.lock"
OCCUPANCY_LOCK = 0x4853_4F43_4355_5059  # PostgreSQL's advisory lock of the same


@dataclass
class Store:
    name: str
    env: dict[str, str]
    location: str
    kind: str = "sqlite"  # or "postgres"
    _factory: Any = field(default=None, repr=False)

    @property
    def placeholder(self) -> str:
        """The SQL parameter mark of this store's driver."""
        return "%s" if self.kind == "postgres" else "?"

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
        if self.kind == "postgres":
            from ledger.storage.postgres import postgres_secret

            return postgres_secret(self.factory)
        path = Path(self.location) / SECRET_FILE
        if not path.exists():
            path.write_bytes(secrets.token_bytes(32))
            path.chmod(0o600)
        return path.read_bytes()

    def writers_lock(self) -> Any:
        """What commands hold while they load, check and save: writers of this data take turns."""
        if self.location == ":memory:":
            return threading.Lock()
        if self.kind == "postgres":
            from ledger.storage.postgres import AdvisoryLock

            return AdvisoryLock(self.env)
        return FileLock(Path(self.location) / COMMAND_LOCK_FILE)

    def close(self) -> None:
        if self._factory is not None:
            self._factory.close()


_memory_secret = secrets.token_bytes(32)


def schema_turn(location: str) -> Any:
    """Held while a process opens a SQLite data folder's stores: creating tables, switching to WAL
    and writing the secret do not wait for each other (``database is locked``) when processes open
    a fresh folder at once. PostgreSQL's recorders take turns at DDL themselves."""
    if location == ":memory:" or is_postgres(location):
        return contextlib.nullcontext()
    Path(location).mkdir(parents=True, exist_ok=True)
    return FileLock(Path(location) / SCHEMA_LOCK_FILE)


class LocationBusy(Exception):
    """Another process holds the data location in a way that excludes this one."""


class Occupancy:
    """A hold on a data location for a process's life: shared by the processes serving it,
    exclusive for one that writes a backdated story into it (the demo), so the two never meet.

    SQLite: a ``flock`` on the folder's ``occupancy.lock``; PostgreSQL: a session-level advisory
    lock on a connection of its own (a process that dies loses it). Never waits: ``LocationBusy``.
    """

    def __init__(self, location: str, *, alone: bool):
        self._file: Any = None
        self._connection: Any = None
        if location == ":memory:":
            return
        if is_postgres(location):
            from ledger.storage.postgres import try_advisory_lock

            self._connection = try_advisory_lock(postgres_env(location), OCCUPANCY_LOCK, shared=not alone)
            if self._connection is None:
                raise LocationBusy(location)
            return
        Path(location).mkdir(parents=True, exist_ok=True)
        self._file = open(Path(location) / OCCUPANCY_LOCK_FILE, "a+b")  # noqa: SIM115 - held until close
        try:
            fcntl.flock(self._file, (fcntl.LOCK_EX if alone else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            self._file.close()
            raise LocationBusy(location) from None

    def close(self) -> None:
        for held in (self._file, self._connection):
            if held is not None:
                held.close()
        self._file = self._connection = None

    def __enter__(self) -> Occupancy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def is_postgres(location: str) -> bool:
    return location.startswith(("postgresql://", "postgres://"))


def open_store(location: str, name: str) -> Store:
    if is_postgres(location):
        from ledger.storage.postgres import check_reachable

        env = postgres_env(location)
        check_reachable(env)  # the server's own words, at once: not a pool's timeout 30 s later
        return Store(name, env, location, kind="postgres")
    if location == ":memory:":
        dbname = f"file:{name}-{uuid.uuid4().hex}?mode=memory&cache=shared"
    else:
        Path(location).mkdir(parents=True, exist_ok=True)
        dbname = str(Path(location) / f"{name.lower()}.sqlite")
    return Store(name, {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": dbname,
                        "SQLITE_LOCK_TIMEOUT": "30",
                        "APPLICATION_RECORDER_TOPIC": "ledger.storage.stores:SQLiteLedgerRecorder",
                        "TRACKING_RECORDER_TOPIC": "ledger.storage.stores:SQLiteViewRecorder"}, location)


class SQLiteLedgerRecorder(AuditLogRecorder, SQLiteApplicationRecorder):
    """The events, and the audit log beside them in the same transactions (``ledger.service_layer.audit``)."""

    def _insert_events(self, c: SQLiteCursor, stored_events: Sequence[StoredEvent],
                       **kwargs: Any) -> Sequence[int] | None:
        returning = super()._insert_events(c, stored_events, **kwargs)
        self._insert_audit(c, kwargs.get("audit"))
        return returning


class SQLiteViewRecorder(SQLiteTrackingRecorder):
    """eventsourcing's tracking recorder, safe when processes open a fresh data folder at once.

    Each one that finds no tracking table creates it and records its "__migration__" row; all but
    the first then fail on that row (IntegrityError). Trying again, a loser finds the table and
    the row, and has nothing left to do.
    """

    def create_table(self) -> None:
        try:
            super().create_table()
        except IntegrityError:
            super().create_table()


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
        "APPLICATION_RECORDER_TOPIC": "ledger.storage.postgres:PostgresLedgerRecorder",
        "TRACKING_RECORDER_TOPIC": "ledger.storage.postgres:PostgresViewRecorder",
    }


class FileLock:
    """Threads of this process, then processes sharing the data folder, take turns (flock)."""

    def __init__(self, path: Path):
        self._path = path
        self._threads = threading.Lock()
        self._file: Any = None

    def __enter__(self) -> None:
        self._threads.acquire()
        try:
            if self._file is None:
                self._file = open(self._path, "a+b")  # noqa: SIM115 - held for the process's life
            fcntl.flock(self._file, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            fcntl.flock(self._file, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
