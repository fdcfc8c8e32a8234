"""The handshake view: one row per handshake, indexed by recipient and by organization.

It serves DescribeHandshake and both List operations, and is the fact table of the
analytics. Rows never change as time passes: expiry and the 30-day retention are applied
at query time from the stored instants (decisions 13-14).

Exactly once: every batch of events changes the rows and records its position in the
tracking table in one transaction (eventsourcing's tracking recorders). Rebuild fills a
second set of tables beside the live ones and swaps them in one transaction, so the old
view answers until the new one is complete.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator, Sequence

from eventsourcing import persistence
from eventsourcing.persistence import IntegrityError, Notification, Tracking
from eventsourcing.sqlite import SQLiteDatastore

from projections.handshake_rows import (  # noqa: F401 - to_us, from_us, MICROS are this view's vocabulary
    MICROS,
    TABLE_NAMES,
    TABLES,
    RowChanges,
    add_event,
    from_us,
    to_us,
)

@dataclass(frozen=True)
class Page:
    rows: list[Any]
    has_more: bool


def _sqlite_select(datastore: SQLiteDatastore, statement: str, params: list[Any]) -> list[Any]:
    """One SELECT in SQLite's own implicit read transaction.

    A query answers every request: the explicit BEGIN and ROLLBACK around it doubled its
    cost, and each statement lets go of the GIL, which the server's threads then queue for.
    """
    with datastore.get_connection(commit=False) as connection, connection.cursor() as cursor:
        try:
            cursor.execute(statement, params)
            return cursor.fetchall()
        except sqlite3.Error as error:  # the same errors as eventsourcing's transactions raise
            raise getattr(persistence, type(error).__name__, persistence.PersistenceError)(error) from error


def log_head(app: Any) -> int:
    """The last position of the application's log: asked before every query, so kept cheap."""
    recorder = app.recorder
    if _is_sqlite_file(recorder.datastore):
        return _sqlite_select(recorder.datastore, recorder.select_max_notification_id_statement, [])[0][0] or 0
    return recorder.max_notification_id() or 0


def _is_sqlite_file(datastore: Any) -> bool:
    return isinstance(datastore, SQLiteDatastore) and not datastore.pool.is_sqlite_memory_mode


class HandshakeView:
    """Rows and queries over a tracking recorder's datastore (SQLite or PostgreSQL)."""

    def __init__(self, recorder: Any, *, upstream: str, prefix: str = "hv_", placeholder: str = "?"):
        self.recorder = recorder
        self.upstream = upstream
        self.prefix = prefix
        self.placeholder = placeholder
        self._lock = threading.Lock()
        for statement in self._statements(TABLES, prefix):
            self._create(statement)

    # -- plumbing -----------------------------------------------------------------------------

    def _create(self, statement: str) -> None:
        """One transaction per statement, so that no lock is held across statements.

        On PostgreSQL, CREATE INDEX IF NOT EXISTS locks its table even when the index exists
        (held with others, that can deadlock an applier in another process), and two processes
        creating one table at once collide on a catalog key: the loser's second try finds it.
        """
        try:
            with self._transaction() as cursor:
                cursor.execute(statement)
        except IntegrityError:
            with self._transaction() as cursor:
                cursor.execute(statement)

    def _statements(self, script: str, prefix: str) -> list[str]:
        return [s.strip() for s in script.format(p=prefix).split(";") if s.strip()]

    def _sql(self, text: str, prefix: str | None = None) -> str:
        text = text.replace("{p}", self.prefix if prefix is None else prefix)
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def _transaction(self, commit: bool = True) -> Any:
        if commit and _is_sqlite_file(self.recorder.datastore):
            return self._derived_data_transaction()
        return self.recorder.datastore.transaction(commit=commit)

    @contextmanager
    def _derived_data_transaction(self) -> Iterator[Any]:
        """SQLite: the view is derived from the log, so its commits need not wait for the disk.

        With WAL and synchronous=NORMAL a power cut can lose only the last commits, rows and
        tracking position together; the view then catches up again from the log. The log
        itself keeps eventsourcing's synchronous=FULL.
        """
        with self.recorder.datastore.get_connection(commit=True) as connection:
            connection.cursor().execute("PRAGMA synchronous=NORMAL")  # not allowed inside a transaction
            with connection.transaction(commit=True) as cursor:
                yield cursor

    def _query(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        datastore = self.recorder.datastore
        if isinstance(datastore, SQLiteDatastore):
            return _sqlite_select(datastore, self._sql(text), list(params))
        with datastore.cursor() as cursor:  # PostgreSQL, autocommit: one round trip, not BEGIN/ROLLBACK too
            cursor.execute(self._sql(text), list(params))
            return list(cursor.fetchall())

    def position(self, name: str | None = None) -> int:
        if isinstance(self.recorder.datastore, SQLiteDatastore):
            statement = self.recorder.select_max_tracking_id_statement
            return _sqlite_select(self.recorder.datastore, statement, [name or self.upstream])[0][0] or 0
        return self.recorder.max_tracking_id(name or self.upstream) or 0

    # -- following the log ----------------------------------------------------------------------

    def catch_up(self, app: Any, *, stop: int | None = None, batch: int = 500,
                 progress: Callable[[int, int], None] | None = None) -> int:
        """Apply every event after the view's position (up to ``stop``); return the new position."""
        with self._lock:
            return self._follow(app, self.upstream, self.prefix, stop=stop, batch=batch, progress=progress)

    def _follow(self, app: Any, name: str, prefix: str, *, stop: int | None, batch: int,
                progress: Callable[[int, int], None] | None, until: datetime | None = None) -> int:
        position = self.position(name)
        while stop is None or position < stop:
            notifications = app.recorder.select_notifications(
                start=position, limit=batch, stop=stop, inclusive_of_start=False
            )
            if not notifications:
                break
            try:
                self.apply(app, notifications, name=name, prefix=prefix, until=until, after=position)
            except IntegrityError:
                # Another process moved the view first: nothing applied here; resume after it.
                position = self.position(name)
                continue
            position = notifications[-1].id
            if progress:
                progress(position, len(notifications))
        return position

    def apply(self, app: Any, notifications: Sequence[Notification], *, name: str | None = None,
              prefix: str | None = None, until: datetime | None = None, after: int | None = None) -> None:
        """One transaction: the rows of these events, then the tracking position.

        ``after``: the position these notifications were read after; the batch is refused
        (IntegrityError, nothing applied) unless the view is still there.
        """
        prefix = self.prefix if prefix is None else prefix
        rows = self._prepare(app, notifications, prefix, until)
        self._write(rows, name or self.upstream, prefix, notifications[-1].id, after=after)

    def _prepare(self, app: Any, notifications: Sequence[Notification], prefix: str,
                 until: datetime | None) -> RowChanges:
        """Decode the events and gather their row changes (before the transaction: less time locked)."""
        batch = RowChanges()
        for notification in notifications:
            event = app.mapper.to_domain_event(notification)
            if until is not None and event.timestamp > until:
                continue
            self._apply_event(batch, prefix, notification.id, event)
        return batch

    def _write(self, batch: RowChanges, name: str, prefix: str, last: int, *, after: int | None) -> None:
        with self._transaction() as cursor:
            if after:
                self._claim(cursor, name, after)
            batch.write(cursor, lambda text: self._sql(text, prefix))
            self.recorder._insert_tracking(cursor, Tracking(name, last))

    def _claim(self, cursor: Any, name: str, after: int) -> None:
        """Lock the tracking row first, and check it still says ``after``.

        Concurrent appliers (other processes) queue on this lock, the row lock on PostgreSQL
        and the write lock on SQLite, instead of interleaving row updates (deadlocks); one
        whose batch was read after an older position gives up before touching a row.
        """
        cursor.execute(self._sql(
            f"UPDATE {self._tracking_table()} SET notification_id = notification_id "
            "WHERE application_name = ? AND notification_id = ? RETURNING notification_id"
        ), [name, after])
        if cursor.fetchone() is None:
            raise IntegrityError(f"The view of {name} is no longer at {after}.")

    def _apply_event(self, batch: RowChanges, prefix: str, notification_id: int, event: Any) -> None:
        add_event(batch, notification_id, event)

    # -- rebuild --------------------------------------------------------------------------------

    def rebuild(self, app: Any, *, batch: int = 10_000, progress: Callable[[int, int], None] | None = None) -> int:
        """Replay the whole log into fresh tables beside the live ones, then swap them in.

        Big batches: random handshake ids dirty pages all over the primary key, and every
        commit's pages are written again at the WAL checkpoint (at 1M handshakes, 10k events
        per commit rebuilt ~20% faster than 1k).
        """
        shadow, shadow_name = "next_" + self.prefix, self.upstream + "#rebuild"
        with self._transaction() as cursor:
            for table in TABLE_NAMES:
                cursor.execute(f"DROP TABLE IF EXISTS {shadow}{table}")
            cursor.execute(self._sql("DELETE FROM " + self._tracking_table() + " WHERE application_name = ?"), [shadow_name])
            for statement in self._statements(TABLES, shadow):
                if not statement.startswith("CREATE INDEX"):  # built once, after the bulk load
                    cursor.execute(statement)
        position = self._follow(app, shadow_name, shadow, stop=None, batch=batch, progress=progress)
        if self.placeholder != "?":  # PostgreSQL renames the shadow's indexes at the swap: build them now
            for statement in self._statements(TABLES, shadow):
                if statement.startswith("CREATE INDEX"):
                    with self._transaction() as cursor:
                        cursor.execute(statement)
        with self._lock:
            # Events that arrived meanwhile, then the swap, in one go for readers.
            position = self._follow(app, shadow_name, shadow, stop=None, batch=batch, progress=progress)
            with self._transaction() as cursor:
                # The tracking row first: appliers in other processes lock it before the tables
                # (see _claim), so taking it first cannot deadlock with them.
                tracking = self._tracking_table()
                cursor.execute(self._sql(f"DELETE FROM {tracking} WHERE application_name = ?"), [self.upstream])
                cursor.execute(self._sql(f"UPDATE {tracking} SET application_name = ? WHERE application_name = ?"),
                               [self.upstream, shadow_name])
                for table in TABLE_NAMES:
                    cursor.execute(f"DROP TABLE IF EXISTS {self.prefix}{table}")
                    cursor.execute(f"ALTER TABLE {shadow}{table} RENAME TO {self.prefix}{table}")
                self._rename_indexes(cursor, shadow)
        return position

    def _tracking_table(self) -> str:
        return getattr(self.recorder, "tracking_table_name", "tracking")

    def _rename_indexes(self, cursor: Any, shadow: str) -> None:
        """Indexes keep their shadow names after the swap; give them the live names back."""
        for statement in self._statements(TABLES, shadow):
            if statement.startswith("CREATE INDEX"):
                index = statement.split()[5]
                live = index.replace(shadow, self.prefix, 1)
                if self.placeholder == "?":  # SQLite can't rename an index: recreate it.
                    cursor.execute(f"DROP INDEX IF EXISTS {index}")
                    cursor.execute(statement.replace(shadow, self.prefix))
                else:
                    cursor.execute(f"ALTER INDEX IF EXISTS {index} RENAME TO {live}")
        if self.placeholder != "?":  # PostgreSQL names primary keys after their table too.
            for table in TABLE_NAMES:
                cursor.execute(f"ALTER INDEX IF EXISTS {shadow}{table}_pkey RENAME TO {self.prefix}{table}_pkey")

    # -- queries ---------------------------------------------------------------------------------

    def get(self, handshake_id: str) -> Any | None:
        rows = self._query("SELECT * FROM {p}handshakes WHERE id = ?", [handshake_id])
        return rows[0] if rows else None

    def account(self, account_id: str) -> Any | None:
        """email, organization_id and is_management of an account the ledger has seen."""
        rows = self._query("SELECT * FROM {p}accounts WHERE account_id = ?", [account_id])
        return rows[0] if rows else None

    def email_of(self, account_id: str) -> str | None:
        account = self.account(account_id)
        return account["email"] if account else None

    def received_by(self, account_id: str, *, now: datetime, action: str | None, parent_id: str | None,
                    after: tuple[int, str] | None, limit: int) -> Page:
        """Handshakes addressed to the account: by id, or by its registered email."""
        rows = self._page("recipient_account_id = ?", [account_id], now, action, parent_id, after, limit)
        email = self.email_of(account_id)
        if email:
            by_email = self._page("target_email = ? AND recipient_account_id IS NULL", [email],
                                  now, action, parent_id, after, limit)
            rows = sorted(rows + by_email, key=lambda r: (r["requested_us"], r["id"]), reverse=True)
        return Page(rows[:limit], len(rows) > limit)

    def of_organization(self, organization_id: str, *, now: datetime, action: str | None, parent_id: str | None,
                        after: tuple[int, str] | None, limit: int) -> Page:
        rows = self._page("organization_id = ?", [organization_id], now, action, parent_id, after, limit)
        return Page(rows[:limit], len(rows) > limit)

    def _page(self, where: str, params: list[Any], now: datetime, action: str | None, parent_id: str | None,
              after: tuple[int, str] | None, limit: int) -> list[Any]:
        """Newest first, keyset after ``after``; one row more than asked tells if there is more."""
        clauses, values = [where, "visible_until_us > ?"], [*params, to_us(now)]
        if action:
            clauses.append("action = ?")
            values.append(action)
        if parent_id:
            clauses.append("parent_id = ?")
            values.append(parent_id)
        if after:
            clauses.append("(requested_us < ? OR (requested_us = ? AND id < ?))")
            values += [after[0], after[0], after[1]]
        text = ("SELECT * FROM {p}handshakes WHERE " + " AND ".join(clauses)
                + " ORDER BY requested_us DESC, id DESC LIMIT ?")
        return self._query(text, [*values, limit + 1])

    def facts(self, organization_id: str | None = None) -> Iterable[Any]:
        """Every handshake row, whatever its retention: the analytics read them all."""
        if organization_id:
            return self._query("SELECT * FROM {p}handshakes WHERE organization_id = ?", [organization_id])
        return self._query("SELECT * FROM {p}handshakes")

    def position_at(self, instant: datetime) -> int:
        """The last position whose event happened at or before ``instant`` (the time index)."""
        rows = self._query("SELECT MAX(notification_id) AS n FROM {p}event_times WHERE timestamp_us <= ?",
                           [to_us(instant)])
        return (rows[0]["n"] if rows else None) or 0
