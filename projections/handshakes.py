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

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Sequence

from eventsourcing.persistence import IntegrityError, Notification, Tracking

from ledger.account import Account
from ledger.handshake import LIVE_STATES, RETENTION, Handshake

MICROS = 1_000_000
RETENTION_US = int(RETENTION.total_seconds()) * MICROS
LIVE = "('" + "','".join(LIVE_STATES) + "')"


def to_us(instant: datetime) -> int:
    """Microseconds since the epoch: exact, orderable, the same on SQLite and PostgreSQL."""
    delta = instant - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * MICROS + delta.microseconds


def from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us // MICROS, timezone.utc).replace(microsecond=us % MICROS)


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    has_more: bool


TABLES = """
CREATE TABLE IF NOT EXISTS {p}handshakes (
    id TEXT PRIMARY KEY,
    organization_id TEXT NOT NULL,
    action TEXT NOT NULL,
    arn TEXT NOT NULL,
    parties TEXT NOT NULL,
    resources TEXT NOT NULL,
    state TEXT NOT NULL,
    requested_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL,
    closed_us BIGINT,
    visible_until_us BIGINT NOT NULL,
    parent_id TEXT,
    pending_children INTEGER NOT NULL,
    sender_account_id TEXT NOT NULL,
    recipient_account_id TEXT,
    target_email TEXT
);
CREATE INDEX IF NOT EXISTS {p}handshakes_by_recipient ON {p}handshakes (recipient_account_id, requested_us, id);
CREATE INDEX IF NOT EXISTS {p}handshakes_by_email ON {p}handshakes (target_email, requested_us, id);
CREATE INDEX IF NOT EXISTS {p}handshakes_by_organization ON {p}handshakes (organization_id, requested_us, id);
CREATE INDEX IF NOT EXISTS {p}handshakes_by_parent ON {p}handshakes (parent_id, requested_us, id);
CREATE TABLE IF NOT EXISTS {p}accounts (
    account_id TEXT PRIMARY KEY,
    email TEXT NOT NULL,
    organization_id TEXT,
    is_management INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS {p}event_times (
    notification_id BIGINT PRIMARY KEY,
    timestamp_us BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS {p}event_times_by_time ON {p}event_times (timestamp_us, notification_id);
"""
TABLE_NAMES = ("handshakes", "accounts", "event_times")


class HandshakeView:
    """Rows and queries over a tracking recorder's datastore (SQLite or PostgreSQL)."""

    def __init__(self, recorder: Any, *, upstream: str, prefix: str = "hv_", placeholder: str = "?"):
        self.recorder = recorder
        self.upstream = upstream
        self.prefix = prefix
        self.placeholder = placeholder
        self._lock = threading.Lock()
        with self._transaction() as cursor:
            for statement in self._statements(TABLES, prefix):
                cursor.execute(statement)

    # -- plumbing -----------------------------------------------------------------------------

    def _statements(self, script: str, prefix: str) -> list[str]:
        return [s.strip() for s in script.format(p=prefix).split(";") if s.strip()]

    def _sql(self, text: str, prefix: str | None = None) -> str:
        text = text.replace("{p}", self.prefix if prefix is None else prefix)
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)

    def _transaction(self, commit: bool = True) -> Any:
        return self.recorder.datastore.transaction(commit=commit)

    def _query(self, text: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._transaction(commit=False) as cursor:
            cursor.execute(self._sql(text), list(params))
            return list(cursor.fetchall())

    def position(self, name: str | None = None) -> int:
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
                self.apply(app, notifications, name=name, prefix=prefix, until=until)
            except IntegrityError:
                # Another process recorded this batch first: nothing applied here; resume after it.
                position = self.position(name)
                continue
            position = notifications[-1].id
            if progress:
                progress(position, len(notifications))
        return position

    def apply(self, app: Any, notifications: Sequence[Notification], *, name: str | None = None,
              prefix: str | None = None, until: datetime | None = None) -> None:
        """One transaction: the rows of these events, then the tracking position."""
        prefix = self.prefix if prefix is None else prefix
        with self._transaction() as cursor:
            for notification in notifications:
                event = app.mapper.to_domain_event(notification)
                if until is not None and event.timestamp > until:
                    continue
                self._apply_event(cursor, prefix, notification.id, event)
            self.recorder._insert_tracking(cursor, Tracking(name or self.upstream, notifications[-1].id))

    def _apply_event(self, cursor: Any, prefix: str, notification_id: int, event: Any) -> None:
        sql = lambda text: self._sql(text, prefix)  # noqa: E731
        cursor.execute(sql("INSERT INTO {p}event_times VALUES (?, ?)"), [notification_id, to_us(event.timestamp)])
        if isinstance(event, Handshake.Created):
            closed = event.state not in LIVE_STATES
            cursor.execute(sql(
                "INSERT INTO {p}handshakes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            ), [
                event.originator_id, event.organization_id, event.action, event.arn,
                json.dumps(event.parties), json.dumps(event.resources), event.state,
                to_us(event.timestamp), to_us(event.expires_at), to_us(event.timestamp) if closed else None,
                to_us(event.expires_at) + RETENTION_US, event.parent_id, len(event.children),
                event.sender_account_id, event.recipient_account_id,
                event.target_id.lower() if event.target_type == "EMAIL" else None,
            ])
        elif isinstance(event, (Handshake.Accepted, Handshake.Declined, Handshake.Canceled)):
            state = {Handshake.Accepted: "ACCEPTED", Handshake.Declined: "DECLINED"}.get(type(event), "CANCELED")
            closed_us = to_us(event.timestamp)
            cursor.execute(sql(
                "UPDATE {p}handshakes SET state = ?, closed_us = ?, visible_until_us = ? WHERE id = ?"
            ), [state, closed_us, closed_us + RETENTION_US, event.originator_id])
        elif isinstance(event, (Handshake.ChildAccepted, Handshake.ChildWithdrawn)):
            cursor.execute(sql(
                "UPDATE {p}handshakes SET pending_children = pending_children - 1, "
                "state = CASE WHEN pending_children = 1 AND state = 'REQUESTED' THEN 'OPEN' ELSE state END "
                "WHERE id = ?"
            ), [event.originator_id])
        elif isinstance(event, Account.Created):
            cursor.execute(sql("INSERT INTO {p}accounts VALUES (?, ?, NULL, 0)"),
                           [event.originator_id, event.email.lower()])
        elif isinstance(event, Account.ProfileChanged):
            cursor.execute(sql("UPDATE {p}accounts SET email = ? WHERE account_id = ?"),
                           [event.email.lower(), event.originator_id])
        elif isinstance(event, Account.JoinedOrganization):
            cursor.execute(sql("UPDATE {p}accounts SET organization_id = ?, is_management = ? WHERE account_id = ?"),
                           [event.organization_id, int(event.method == "CREATED"), event.originator_id])
        elif isinstance(event, Account.LeftOrganization):
            cursor.execute(sql("UPDATE {p}accounts SET organization_id = NULL, is_management = 0 WHERE account_id = ?"),
                           [event.originator_id])

    # -- rebuild --------------------------------------------------------------------------------

    def rebuild(self, app: Any, *, batch: int = 1000, progress: Callable[[int, int], None] | None = None) -> int:
        """Replay the whole log into fresh tables beside the live ones, then swap them in."""
        shadow, shadow_name = "next_" + self.prefix, self.upstream + "#rebuild"
        with self._transaction() as cursor:
            for table in TABLE_NAMES:
                cursor.execute(f"DROP TABLE IF EXISTS {shadow}{table}")
            cursor.execute(self._sql("DELETE FROM " + self._tracking_table() + " WHERE application_name = ?"), [shadow_name])
            for statement in self._statements(TABLES, shadow):
                cursor.execute(statement)
        position = self._follow(app, shadow_name, shadow, stop=None, batch=batch, progress=progress)
        with self._lock:
            # Events that arrived meanwhile, then the swap, in one go for readers.
            position = self._follow(app, shadow_name, shadow, stop=None, batch=batch, progress=progress)
            with self._transaction() as cursor:
                tracking = self._tracking_table()
                for table in TABLE_NAMES:
                    cursor.execute(f"DROP TABLE IF EXISTS {self.prefix}{table}")
                    cursor.execute(f"ALTER TABLE {shadow}{table} RENAME TO {self.prefix}{table}")
                cursor.execute(self._sql(f"DELETE FROM {tracking} WHERE application_name = ?"), [self.upstream])
                cursor.execute(self._sql(f"UPDATE {tracking} SET application_name = ? WHERE application_name = ?"),
                               [self.upstream, shadow_name])
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
