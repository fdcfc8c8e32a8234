"""The ledger's view: handshakes, the account directory and organizations, every version kept.

It serves DescribeHandshake, both Lists, DescribeOrganization, ListAccounts, DescribeAccount
and the analytics, live or as of any position (``projections/queries.py``): its tables are
versioned (``projections/versions.py``), so the past is an index lookup. Rows never change as
time passes: expiry and the 30-day retention are applied at query time from the stored instants
(decisions 13-14).

Exactly once: every batch of events changes the rows and records its position in the
tracking table in one transaction (eventsourcing's tracking recorders). Rebuild fills a
second set of tables beside the live ones and swaps them in one transaction, so the old
view answers until the new one is complete.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from eventsourcing import persistence
from eventsourcing.persistence import IntegrityError, Notification, ProgrammingError, Tracking
from eventsourcing.sqlite import SQLiteDatastore

from projections.bulk_load import bulk_transactions, decode, fewer_full_collections, persistence_error, time_only
from projections.queries import EMAIL_MOVES
from projections.rollup import CLUSTERED, COUNTERS, backfill
from projections.rollup_visible import backfill_visible
from projections.versions import HeldRows
from projections.view_tables import TABLE_NAMES, TABLES, RowChanges, add_event


DUPLICATE_OBJECT_STATES = {"42710", "42P07"}  # PostgreSQL's duplicate_object and duplicate_table


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
            raise persistence_error(error) from error


def log_head(app: Any) -> int:
    """The last position of the application's log: asked before every query, so kept cheap."""
    recorder = app.recorder
    if _is_sqlite_file(recorder.datastore):
        return _sqlite_select(recorder.datastore, recorder.select_max_notification_id_statement, [])[0][0] or 0
    return recorder.max_notification_id() or 0


def _is_sqlite_file(datastore: Any) -> bool:
    return isinstance(datastore, SQLiteDatastore) and not datastore.pool.is_sqlite_memory_mode


class ViewMoved(IntegrityError):
    """A batch's claim found the view's tracking row no longer at the position the batch was read
    after: another applier (or a rebuild's swap) got there first."""


class HandshakeView:
    """Rows and queries over a tracking recorder's datastore (SQLite or PostgreSQL)."""

    def __init__(self, recorder: Any, *, upstream: str, prefix: str = "hv_", placeholder: str = "?"):
        self.recorder = recorder
        self.upstream = upstream
        self.prefix = prefix
        self.placeholder = placeholder
        self._lock = threading.Lock()
        lacking = tuple(name for name, table, _ in COUNTERS if name != "visible" and not self._has_table(table))
        moves, visible = self._has_table("email_moves"), self._has_table("rollup_visible")
        for statement in self._statements(TABLES, prefix):
            self._create(statement)
        if not moves:  # a view made before the email moves were kept: find them in its account versions
            with self._transaction() as cursor:
                cursor.execute(self._sql(EMAIL_MOVES))
        if lacking:  # a view made before some of the analytics' counters
            with self._transaction() as cursor:
                backfill(cursor, self._sql, wanted=lacking)
        if not visible:  # a view made before the visible counts were kept: count its handshake versions
            with self._transaction() as cursor:
                backfill_visible(cursor, self._sql)

    def _has_table(self, table: str) -> bool:
        try:
            self._query("SELECT 1 FROM {p}" + table + " LIMIT 1")
            return True
        except persistence.PersistenceError:
            return False

    # -- plumbing -----------------------------------------------------------------------------

    def _create(self, statement: str) -> None:
        """One transaction per statement, so that no lock is held across statements.

        On PostgreSQL, CREATE INDEX IF NOT EXISTS locks its table even when the index exists
        (held with others, that can deadlock an applier in another process), and two processes
        creating one table at once collide on a catalog key or its row type (duplicate_object,
        duplicate_table): the loser's second try finds it.
        """
        try:
            with self._transaction() as cursor:
                cursor.execute(statement)
        except (IntegrityError, ProgrammingError) as collided:
            if isinstance(collided, ProgrammingError) and \
                    getattr(collided.__cause__, "sqlstate", None) not in DUPLICATE_OBJECT_STATES:
                raise
            with self._transaction() as cursor:
                cursor.execute(statement)

    def _statements(self, script: str, prefix: str) -> list[str]:
        """The script's statements for these tables. SQLite stores the ``CLUSTERED`` tables in their
        primary key's order (WITHOUT ROWID): an organization's counters then lie on a few pages,
        not one page each among every other organization's, which a first read pays for."""
        statements = [s.strip() for s in script.format(p=prefix).split(";") if s.strip()]
        if self.placeholder != "?":
            return statements
        clustered = tuple(f"CREATE TABLE IF NOT EXISTS {prefix}{table} (" for table in CLUSTERED)
        return [s + " WITHOUT ROWID" if s.startswith(clustered) else s for s in statements]

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
                progress: Callable[[int, int], None] | None, held: HeldRows | None = None) -> int:
        position = self.position(name)
        while stop is None or position < stop:
            notifications = app.recorder.select_notifications(
                start=position, limit=batch, stop=stop, inclusive_of_start=False
            )
            if not notifications:
                break
            try:
                self.apply(app, notifications, name=name, prefix=prefix, after=position, held=held)
            except ViewMoved:
                # Another process moved the view, or a rebuild swapped in its own tracking row (perhaps
                # at this very position): nothing applied here; resume from where it stands now.
                position = self.position(name)
                continue
            except IntegrityError:
                # Another process moved the view first: nothing applied here; resume after it.
                moved = self.position(name)
                if moved == position:
                    raise  # not a race: these rows can't be applied
                position = moved
                continue
            position = notifications[-1].id
            if progress:
                progress(position, len(notifications))
            if len(notifications) < batch:
                break  # the end of the log when it was read: no query to find nothing more
        return position

    def apply(self, app: Any, notifications: Sequence[Notification], *, name: str | None = None,
              prefix: str | None = None, after: int | None = None, held: HeldRows | None = None) -> None:
        """One transaction: the rows of these events, then the tracking position.

        ``after``: the position these notifications were read after; the batch is refused
        (IntegrityError, nothing applied) unless the view is still there. ``held``: a replay's
        rows kept in memory between batches (``projections/versions.py``).
        """
        prefix = self.prefix if prefix is None else prefix
        rows = self._prepare(app, notifications, prefix, held)
        self._write(rows, name or self.upstream, prefix, notifications[-1].id, after=after)

    def _prepare(self, app: Any, notifications: Sequence[Notification], prefix: str,
                 held: HeldRows | None = None) -> RowChanges:
        """Decode the events and gather their row changes (before the transaction: less time locked)."""
        batch = RowChanges(held)
        for notification in notifications:
            if held is None:
                self._apply_event(batch, prefix, notification.id, app.mapper.to_domain_event(notification))
                continue
            instant_us = time_only(app.mapper, notification)  # a replay: events without rows give their instant
            if instant_us is None:
                self._apply_event(batch, prefix, notification.id, decode(app.mapper, notification))
            else:
                batch.times.append((notification.id, instant_us))
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
            raise ViewMoved(f"The view of {name} is no longer at {after}.")

    def _apply_event(self, batch: RowChanges, prefix: str, notification_id: int, event: Any) -> None:
        add_event(batch, notification_id, event)

    # -- rebuild --------------------------------------------------------------------------------

    def rebuild(self, app: Any, *, batch: int = 10_000, progress: Callable[[int, int], None] | None = None,
                hold: int = 300_000, commit_every: int = 50_000) -> int:
        """Replay the whole log into fresh tables beside the live ones, then swap them in.

        In bulk: the current version of every row stays in memory while the log is replayed
        (``HeldRows``, ``hold`` rows at most), so each version is written once, by ``executemany``
        (COPY on PostgreSQL) of whole batches per table; the secondary indexes are built once,
        after the load; transactions of ``commit_every`` events or so: random handshake ids
        dirty pages all over the primary key, and every commit's pages are written again at the
        WAL checkpoint. The load's connection and settings: ``projections/bulk_load.py``.
        """
        shadow, shadow_name = "next_" + self.prefix, self.upstream + "#rebuild"
        with self._transaction() as cursor:
            # A write first: SQLite takes the write lock now, waiting for it if another process
            # holds it; begun by a read, the transaction could not take it once that one commits.
            cursor.execute(self._sql("DELETE FROM " + self._tracking_table() + " WHERE application_name = ?"), [shadow_name])
            for table in TABLE_NAMES:
                cursor.execute(f"DROP TABLE IF EXISTS {shadow}{table}")
            for statement in self._statements(TABLES, shadow):
                if not statement.startswith("CREATE INDEX"):  # built once, after the bulk load
                    cursor.execute(statement)
        held = HeldRows(hold)
        with bulk_transactions(self.recorder.datastore, self._transaction) as transaction, fewer_full_collections():
            self._load(app, shadow_name, shadow, held, transaction, batch=batch, commit_every=commit_every,
                       progress=progress)
            if self.placeholder != "?":  # PostgreSQL renames the shadow's indexes at the swap: build them now
                for statement in self._statements(TABLES, shadow):
                    if statement.startswith("CREATE INDEX"):
                        with transaction() as cursor:
                            cursor.execute(statement)
            with self._lock:
                # Events that arrived meanwhile, then the swap, in one go for readers.
                position = self._follow(app, shadow_name, shadow, stop=None, batch=batch, progress=progress,
                                        held=held)
                with transaction() as cursor:
                    # The tracking row first: appliers in other processes lock it before the tables
                    # (see _claim), so taking it first cannot deadlock with them.
                    tracking = self._tracking_table()
                    cursor.execute(self._sql(f"DELETE FROM {tracking} WHERE application_name = ?"), [self.upstream])
                    cursor.execute(self._sql(f"UPDATE {tracking} SET application_name = ? WHERE application_name = ?"),
                                   [self.upstream, shadow_name])
                    RowChanges(held).release_held(cursor, lambda text: self._sql(text, shadow))
                    for table in TABLE_NAMES:
                        cursor.execute(f"DROP TABLE IF EXISTS {self.prefix}{table}")
                        cursor.execute(f"ALTER TABLE {shadow}{table} RENAME TO {self.prefix}{table}")
                    self._rename_indexes(cursor, shadow)  # on SQLite: built here, with the load's page cache
        return position

    def _load(self, app: Any, name: str, prefix: str, held: HeldRows, transaction: Callable[[], Any], *,
              batch: int, commit_every: int, progress: Callable[[int, int], None] | None) -> None:
        """The rebuild's bulk load: every event up to the log's end when read, then every held row.

        Batches are written in log order, several to a transaction (``commit_every`` events or
        so), each transaction ending with the tracking position of its last batch; the first
        checks the position it continues from (``_claim``), as catch-up does. An error leaves
        the shadow tables unswapped.
        """

        def batches() -> Iterator[tuple[int, int, int, RowChanges]]:
            position = self.position(name)
            while True:
                page = app.recorder.select_notifications(start=position, limit=batch, inclusive_of_start=False)
                if not page:
                    return
                yield position, page[-1].id, len(page), self._prepare(app, page, prefix, held)
                position = page[-1].id
                if len(page) < batch:
                    return  # the end of the log when it was read

        def sql(text: str) -> str:
            return self._sql(text, prefix)

        events = batches()
        ended = False
        while not ended:
            with transaction() as cursor:
                written, last = 0, None
                for after, last, count, rows in events:
                    if written == 0 and after:
                        self._claim(cursor, name, after)
                    rows.write(cursor, sql)
                    written += count
                    if progress:
                        progress(last, count)
                    if written >= commit_every:
                        break
                else:
                    ended = True
                    RowChanges(held).release_held(cursor, sql)
                if last is not None:
                    self.recorder._insert_tracking(cursor, Tracking(name, last))

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

    def query(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of one SELECT over the view's tables (``{p}`` is their prefix, ``?`` a parameter)."""
        return self._query(text, params)

    def facts(self) -> list[Any]:
        """Every handshake's current version, whatever its retention (the analytics read them all)."""
        return self._query("SELECT * FROM {p}handshakes WHERE valid_to IS NULL")
