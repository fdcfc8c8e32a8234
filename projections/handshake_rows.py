"""What the handshake view's rows are, and which row changes each event makes.

Times are stored as microseconds since the epoch: exact, orderable, and the same on SQLite
and PostgreSQL. A batch of events becomes a few ``executemany`` calls.
"""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from ledger.account import Account
from ledger.handshake import LIVE_STATES, RETENTION, Handshake

MICROS = 1_000_000
RETENTION_US = int(RETENTION.total_seconds()) * MICROS


EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ONE_US = timedelta(microseconds=1)


def to_us(instant: datetime) -> int:
    """Microseconds since the epoch: exact, orderable, the same on SQLite and PostgreSQL."""
    return (instant - EPOCH) // ONE_US


def from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us // MICROS, timezone.utc).replace(microsecond=us % MICROS)


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


INSERT_HANDSHAKE = "INSERT INTO {p}handshakes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
CLOSE_HANDSHAKE = "UPDATE {p}handshakes SET state = ?, closed_us = ?, visible_until_us = ? WHERE id = ?"
DROP_PENDING_CHILD = (
    "UPDATE {p}handshakes SET pending_children = pending_children - 1, "
    "state = CASE WHEN pending_children = 1 AND state = 'REQUESTED' THEN 'OPEN' ELSE state END WHERE id = ?"
)
STATE, CLOSED_US, VISIBLE_UNTIL_US, PENDING_CHILDREN = 6, 9, 10, 12  # columns of a handshakes row


class RowChanges:
    """The row changes of a batch of events, written with a few ``executemany``.

    A row inserted by the batch is changed in memory exactly as the UPDATE would change it;
    rows of earlier batches get their UPDATEs, in event order, after the inserts.
    """

    def __init__(self) -> None:
        self.times: list[tuple[int, int]] = []
        self.handshakes: list[list[Any]] = []
        self.accounts: list[list[Any]] = []
        self.new_handshakes: dict[str, list[Any]] = {}
        self.new_accounts: dict[str, list[Any]] = {}
        self.updates: list[tuple[str, list[Any]]] = []

    def time(self, notification_id: int, timestamp_us: int) -> None:
        self.times.append((notification_id, timestamp_us))

    def insert_handshake(self, row: list[Any]) -> None:
        self.handshakes.append(row)
        self.new_handshakes.setdefault(row[0], row)

    def close_handshake(self, handshake_id: str, state: str, closed_us: int) -> None:
        row = self.new_handshakes.get(handshake_id)
        if row is None:
            self.updates.append((CLOSE_HANDSHAKE, [state, closed_us, closed_us + RETENTION_US, handshake_id]))
        else:
            row[STATE], row[CLOSED_US], row[VISIBLE_UNTIL_US] = state, closed_us, closed_us + RETENTION_US

    def drop_pending_child(self, handshake_id: str) -> None:
        row = self.new_handshakes.get(handshake_id)
        if row is None:
            self.updates.append((DROP_PENDING_CHILD, [handshake_id]))
            return
        if row[PENDING_CHILDREN] == 1 and row[STATE] == "REQUESTED":
            row[STATE] = "OPEN"
        row[PENDING_CHILDREN] -= 1

    def insert_account(self, row: list[Any]) -> None:
        self.accounts.append(row)
        self.new_accounts.setdefault(row[0], row)

    def change_account(self, account_id: str, columns: dict[int, Any], update: str) -> None:
        row = self.new_accounts.get(account_id)
        if row is None:
            self.updates.append((update, [*columns.values(), account_id]))
        else:
            for column, value in columns.items():
                row[column] = value

    def write(self, cursor: Any, sql: Callable[[str], str]) -> None:
        if self.handshakes:
            cursor.executemany(sql(INSERT_HANDSHAKE), self.handshakes)
        if self.accounts:
            cursor.executemany(sql("INSERT INTO {p}accounts VALUES (?, ?, ?, ?)"), self.accounts)
        if self.times:
            cursor.executemany(sql("INSERT INTO {p}event_times VALUES (?, ?)"), self.times)
        for text, group in itertools.groupby(self.updates, key=lambda update: update[0]):
            cursor.executemany(sql(text), [params for _, params in group])


def add_event(batch: RowChanges, notification_id: int, event: Any) -> None:
    """Add one event's row changes to the batch."""
    timestamp_us = to_us(event.timestamp)
    batch.time(notification_id, timestamp_us)
    if isinstance(event, Handshake.Created):
        expires_us = to_us(event.expires_at)
        batch.insert_handshake([
            event.originator_id, event.organization_id, event.action, event.arn,
            json.dumps(event.parties), json.dumps(event.resources), event.state,
            timestamp_us, expires_us, timestamp_us if event.state not in LIVE_STATES else None,
            expires_us + RETENTION_US, event.parent_id, len(event.children),
            event.sender_account_id, event.recipient_account_id,
            event.target_id.lower() if event.target_type == "EMAIL" else None,
        ])
    elif isinstance(event, (Handshake.Accepted, Handshake.Declined, Handshake.Canceled)):
        state = {Handshake.Accepted: "ACCEPTED", Handshake.Declined: "DECLINED"}.get(type(event), "CANCELED")
        batch.close_handshake(event.originator_id, state, timestamp_us)
    elif isinstance(event, (Handshake.ChildAccepted, Handshake.ChildWithdrawn)):
        batch.drop_pending_child(event.originator_id)
    elif isinstance(event, Account.Created):
        batch.insert_account([event.originator_id, event.email.lower(), None, 0])
    elif isinstance(event, Account.ProfileChanged):
        batch.change_account(event.originator_id, {1: event.email.lower()},
                             "UPDATE {p}accounts SET email = ? WHERE account_id = ?")
    elif isinstance(event, Account.JoinedOrganization):
        batch.change_account(event.originator_id, {2: event.organization_id, 3: int(event.method == "CREATED")},
                             "UPDATE {p}accounts SET organization_id = ?, is_management = ? WHERE account_id = ?")
    elif isinstance(event, Account.LeftOrganization):
        batch.change_account(event.originator_id, {2: None, 3: 0},
                             "UPDATE {p}accounts SET organization_id = ?, is_management = ? WHERE account_id = ?")
