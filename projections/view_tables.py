"""The ledger view's tables, and which row changes each event makes.

Three versioned tables (``projections/versions.py``): handshakes (what DescribeHandshake and
the Lists answer), accounts (the account directory of decision 19: emails, names, memberships)
and organizations. What never changes of a handshake (its ARN, Parties and Resources as
requested) is kept once, in ``handshake_documents``; the ACCOUNT resource an accepted EMAIL
invitation gains is derived when read (``projections/aws_reads.py``). A new version is made only when an answer changes; bookkeeping (how many
approvals a parent still awaits) is updated in place. Expiry and retention are never stored as
changes: they are derived when read, from the stored instants (decisions 13-14).

``event_times`` maps positions to instants: ``high_us`` is the latest timestamp up to and
including the position, so "as of T" is the longest prefix of the log recorded at or before T
(one index seek). Times are microseconds since the epoch: exact, orderable, the same on SQLite
and PostgreSQL.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from ledger.domain.account import Account
from ledger.domain.directory import email_key
from ledger.domain.handshake import ACCEPTED, CANCELED, DECLINED, LIVE_STATES, OPEN, REQUESTED, RETENTION, Handshake
from ledger.domain.instants import EPOCH, from_us, to_us
from ledger.domain.organization import ALL, Organization
from ledger.domain.transfer import ResponsibilityTransfer
from projections.rollup import ROLLUP_TABLE, RollupChanges
from projections.rollup_visible import VisibleMoves
from projections.transfer_tables import TRANSFER_TABLE_NAMES, TRANSFER_TABLES, TRANSFERS, add_transfer_event
from projections.versions import HeldRows, Row, VersionedBatch, VersionedTable, insert_rows

MICROS = 1_000_000
HELD_TOTALS = 100_000  # rollup buckets a replay sums in memory at most before writing them
RETENTION_US = int(RETENTION.total_seconds()) * MICROS
VERSION_COLUMNS = "valid_from BIGINT NOT NULL, valid_to BIGINT"
TABLES = f"""
CREATE TABLE IF NOT EXISTS {{p}}handshake_documents (
    id TEXT PRIMARY KEY,
    arn TEXT NOT NULL,
    parties TEXT NOT NULL,
    resources TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS {{p}}handshakes (
    id TEXT NOT NULL, {VERSION_COLUMNS},
    organization_id TEXT NOT NULL,
    action TEXT NOT NULL,
    state TEXT NOT NULL,
    requested_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL,
    closed_us BIGINT,
    visible_until_us BIGINT NOT NULL,
    parent_id TEXT,
    pending_children INTEGER NOT NULL,
    sender_account_id TEXT NOT NULL,
    recipient_account_id TEXT,
    target_email TEXT,
    PRIMARY KEY (id, valid_from)
);
CREATE INDEX IF NOT EXISTS {{p}}handshakes_by_recipient
    ON {{p}}handshakes (recipient_account_id, requested_us, id, valid_from, valid_to);
CREATE INDEX IF NOT EXISTS {{p}}handshakes_by_email ON {{p}}handshakes (target_email, requested_us, id, valid_from, valid_to);
CREATE INDEX IF NOT EXISTS {{p}}handshakes_by_organization
    ON {{p}}handshakes (organization_id, requested_us, id, valid_from, valid_to);
CREATE INDEX IF NOT EXISTS {{p}}handshakes_by_parent ON {{p}}handshakes (parent_id, requested_us, id, valid_from, valid_to);
CREATE INDEX IF NOT EXISTS {{p}}handshakes_changed ON {{p}}handshakes (valid_from);
CREATE INDEX IF NOT EXISTS {{p}}handshakes_changed_by_organization ON {{p}}handshakes (organization_id, valid_from);
CREATE INDEX IF NOT EXISTS {{p}}handshakes_by_time
    ON {{p}}handshakes (requested_us, id, valid_from, valid_to, visible_until_us, expires_us, state);
CREATE INDEX IF NOT EXISTS {{p}}handshakes_by_expiry ON {{p}}handshakes (expires_us);
CREATE INDEX IF NOT EXISTS {{p}}handshakes_expiring_by_organization ON {{p}}handshakes (organization_id, expires_us);
CREATE INDEX IF NOT EXISTS {{p}}handshakes_by_retention ON {{p}}handshakes (visible_until_us);
CREATE TABLE IF NOT EXISTS {{p}}accounts (
    account_id TEXT NOT NULL, {VERSION_COLUMNS},
    email TEXT NOT NULL,
    email_key TEXT NOT NULL,
    name TEXT NOT NULL,
    organization_id TEXT,
    joined_method TEXT,
    joined_us BIGINT,
    PRIMARY KEY (account_id, valid_from)
);
CREATE INDEX IF NOT EXISTS {{p}}accounts_by_email ON {{p}}accounts (email_key, valid_from, valid_to);
CREATE INDEX IF NOT EXISTS {{p}}accounts_by_organization ON {{p}}accounts (organization_id, account_id, valid_from, valid_to);
CREATE TABLE IF NOT EXISTS {{p}}email_moves (
    notification_id BIGINT PRIMARY KEY,
    account_id TEXT NOT NULL,
    email_key TEXT NOT NULL,
    was TEXT
);
CREATE TABLE IF NOT EXISTS {{p}}organizations (
    organization_id TEXT NOT NULL, {VERSION_COLUMNS},
    management_account_id TEXT NOT NULL,
    feature_set TEXT NOT NULL,
    root_id TEXT NOT NULL,
    deleted INTEGER NOT NULL,
    policy_types TEXT NOT NULL,
    service_access TEXT NOT NULL,
    PRIMARY KEY (organization_id, valid_from)
);
CREATE TABLE IF NOT EXISTS {{p}}event_times (
    notification_id BIGINT PRIMARY KEY,
    timestamp_us BIGINT NOT NULL,
    high_us BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS {{p}}event_times_by_time ON {{p}}event_times (high_us, notification_id);
CREATE INDEX IF NOT EXISTS {{p}}event_times_late ON {{p}}event_times (notification_id) WHERE timestamp_us < high_us;
""" + ROLLUP_TABLE + TRANSFER_TABLES
# email_moves: the account versions that gave an address to an account (made it, or changed its
# email; ``was``: the email before), so "whose email moved between two positions" reads only those,
# not every join and leave (projections/queries.email_changes).
# handshakes_expiring_by_organization: the analytics of a few organizations count the handshakes
# of theirs that expired since the day began (projections/rollup_reads.py).
# handshakes_by_time: the whole ledger newest first (the web UI's list); its counts by state are
# read from rollup_visible (projections/rollup_visible.py), or from this index alone (counts_from_rows).
TABLE_NAMES = ("handshake_documents", "handshakes", "accounts", "organizations", "event_times", "email_moves", "rollup", "rollup_hours", "rollup_totals",
               "rollup_visible", "rollup_slices", *TRANSFER_TABLE_NAMES)

HANDSHAKES = VersionedTable("handshakes", "id", (
    "id", "valid_from", "valid_to", "organization_id", "action", "state",
    "requested_us", "expires_us", "closed_us", "visible_until_us", "parent_id", "pending_children",
    "sender_account_id", "recipient_account_id", "target_email",
))
ACCOUNTS = VersionedTable("accounts", "account_id", (
    "account_id", "valid_from", "valid_to", "email", "email_key", "name", "organization_id", "joined_method",
    "joined_us",
))
ORGANIZATIONS = VersionedTable("organizations", "organization_id", (
    "organization_id", "valid_from", "valid_to", "management_account_id", "feature_set", "root_id", "deleted",
    "policy_types", "service_access",
))
VERSIONED = (HANDSHAKES, ACCOUNTS, ORGANIZATIONS, TRANSFERS)
CLOSED = {Handshake.Accepted: ACCEPTED, Handshake.Declined: DECLINED, Handshake.Canceled: CANCELED}


class RowChanges(VersionedBatch):
    """The row changes of a batch of events, and their positions' instants."""

    def __init__(self, held: HeldRows | None = None) -> None:
        super().__init__(VERSIONED, held)
        self.times: list[tuple[int, int]] = []
        self.documents: list[tuple[str, str, str, str]] = []
        self.deletions: list[tuple[int, str, int]] = []  # (position, organization id, instant in µs)
        self.email_moves: list[tuple[int, str, str, str | None]] = []  # (position, account, email key, was)
        self.rollup = RollupChanges()  # the analytics' counters (projections/rollup.py)
        self.visible = VisibleMoves()  # the visible handshakes' moves, bucketed once the positions' high_us is known

    def write(self, cursor: Any, sql: Any) -> None:
        if self.deletions:
            self.release_held(cursor, sql)  # the retirement below looks for the organization's rows in the table
        for position, organization_id, deleted_us in self.deletions:
            self._retire_invitations(cursor, sql, position, organization_id, deleted_us)
        super().write(cursor, sql)  # (a profile change adds its email move here, seeing the row before)
        times = self._times(cursor, sql)
        self.visible.bucket({position: high for position, _, high in times}, self.rollup)
        if self.held is None:
            self.rollup.write(cursor, sql)
        else:  # a replay adds the counters up in memory: a bucket's row written once, not once a batch
            self.held.totals.update(self.rollup.tagged())
            if len(self.held.totals) > HELD_TOTALS:
                self._write_totals(cursor, sql)
        if self.email_moves:
            insert_rows(cursor, sql, "email_moves", ("notification_id", "account_id", "email_key", "was"),
                        sorted(self.email_moves), bulk=self.held is not None)
        if self.documents:
            insert_rows(cursor, sql, "handshake_documents", ("id", "arn", "parties", "resources"), self.documents,
                        bulk=self.held is not None)
        insert_rows(cursor, sql, "event_times", ("notification_id", "timestamp_us", "high_us"), times,
                    bulk=self.held is not None)

    def _times(self, cursor: Any, sql: Any) -> list[tuple[int, int, int]]:
        """The batch's positions with their instants and ``high_us``: the latest instant up to each."""
        if not self.times:
            return []
        # high_us never decreases: the last row's is the highest (a key seek, not a scan)
        cursor.execute(sql("SELECT high_us AS high FROM {p}event_times ORDER BY notification_id DESC LIMIT 1"))
        found = cursor.fetchone()
        high = ((found["high"] if isinstance(found, dict) else found[0]) if found else None) or 0
        rows = []
        for notification_id, timestamp_us in self.times:
            high = max(high, timestamp_us)
            rows.append((notification_id, timestamp_us, high))
        return rows

    def release_held(self, cursor: Any, sql: Any) -> None:
        super().release_held(cursor, sql)
        self._write_totals(cursor, sql)

    def _write_totals(self, cursor: Any, sql: Any) -> None:
        if self.held is not None and self.held.totals:
            totals, self.held.totals = RollupChanges.of_tagged(self.held.totals), Counter()
            totals.write(cursor, sql, bulk=True)

    def _retire_invitations(self, cursor: Any, sql: Any, position: int, organization_id: str, deleted_us: int) -> None:
        """A deleted organization takes its handshakes out of every view from that instant
        (decision 30): a new version of each still visible, visible until the deletion. Those
        this batch inserts are found among its operations, the others in the table."""
        cursor.execute(sql("SELECT id FROM {p}handshakes WHERE organization_id = ? AND valid_to IS NULL "
                           "AND visible_until_us > ?"), [organization_id, deleted_us])
        ids = [row["id"] if isinstance(row, dict) else row[0] for row in cursor.fetchall()]
        ids += self.inserted("handshakes", before=position, where=lambda row: row["organization_id"] == organization_id)

        def retire(row: Row) -> tuple[Row, bool]:
            if row["visible_until_us"] <= deleted_us:
                return {"visible_until_us": row["visible_until_us"]}, False
            return {"visible_until_us": deleted_us}, True

        for handshake_id in dict.fromkeys(ids):
            self.change("handshakes", position, handshake_id, _counted(self, position, retire))


ROW_EVENTS = (Handshake.Created, *CLOSED, Handshake.ChildAccepted, Handshake.ChildWithdrawn, Account.Created,
              Account.ProfileChanged, Account.JoinedOrganization, Account.LeftOrganization, Organization.Created,
              Organization.AllFeaturesEnabled, Organization.Deleted, Organization.PolicyTypeEnabled,
              Organization.PolicyTypeDisabled, Organization.ServiceAccessEnabled,
              Organization.ServiceAccessDisabled, ResponsibilityTransfer.Event)


_MAKES_ROWS: dict[type, bool] = {}


def makes_rows(event_type: type) -> bool:
    """Whether events of this type change rows (worked out once per type: many events of a log don't)."""
    makes = _MAKES_ROWS.get(event_type)
    if makes is None:
        makes = _MAKES_ROWS[event_type] = issubclass(event_type, ROW_EVENTS)
    return makes


def add_event(batch: RowChanges, position: int, event: Any) -> None:
    """Add one event's row changes to the batch."""
    timestamp_us = to_us(event.timestamp)
    batch.times.append((position, timestamp_us))
    if not makes_rows(type(event)):
        return
    key = event.originator_id
    if isinstance(event, Handshake.Created):  # the commonest events first: a rebuild asks this of each
        row = _handshake_row(event, timestamp_us)
        batch.insert("handshakes", position, row)
        batch.rollup.requested(row)
        batch.visible.changed(position, None, row)
        documents = orjson.dumps(event.parties).decode(), orjson.dumps(event.resources).decode()  # json.dumps: 4x slower
        batch.documents.append((key, event.arn, *documents))
    elif type(event) in CLOSED:
        closing = _closing(CLOSED[type(event)], event.actor, timestamp_us, batch.rollup)
        batch.change("handshakes", position, key, _counted(batch, position, closing))
    elif isinstance(event, (Handshake.ChildAccepted, Handshake.ChildWithdrawn)):
        batch.change("handshakes", position, key, _counted(batch, position, _child_answered))
    elif isinstance(event, Account.Created):
        batch.insert("accounts", position, {
            "account_id": key, "email": event.email, "email_key": email_key(event.email), "name": event.name,
            "organization_id": None, "joined_method": None, "joined_us": None,
        })
        batch.email_moves.append((position, key, email_key(event.email), None))
    elif isinstance(event, Account.ProfileChanged):
        batch.change("accounts", position, key, _profile(batch, position, key, event.email, event.name))
    elif isinstance(event, Account.JoinedOrganization):
        joined = {"organization_id": event.organization_id, "joined_method": event.method, "joined_us": timestamp_us}
        batch.change("accounts", position, key, lambda _: (joined, True))
    elif isinstance(event, Account.LeftOrganization):
        batch.change("accounts", position, key,
                     lambda _: ({"organization_id": None, "joined_method": None, "joined_us": None}, True))
    elif isinstance(event, Organization.Created):
        batch.insert("organizations", position, {
            "organization_id": key, "management_account_id": event.management_account_id,
            "feature_set": event.feature_set, "root_id": event.root_id, "deleted": 0,
            "policy_types": "[]", "service_access": "{}",
        })
    elif isinstance(event, Organization.AllFeaturesEnabled):
        batch.change("organizations", position, key, lambda _: ({"feature_set": ALL}, True))
    elif isinstance(event, Organization.Deleted):
        batch.change("organizations", position, key, lambda _: ({"deleted": 1}, True))
        batch.deletions.append((position, key, timestamp_us))
    elif isinstance(event, (Organization.PolicyTypeEnabled, Organization.PolicyTypeDisabled)):
        enabled = isinstance(event, Organization.PolicyTypeEnabled)
        batch.change("organizations", position, key, _listed("policy_types", event.policy_type, enabled))
    elif isinstance(event, (Organization.ServiceAccessEnabled, Organization.ServiceAccessDisabled)):
        enabled_us = timestamp_us if isinstance(event, Organization.ServiceAccessEnabled) else None
        batch.change("organizations", position, key, _service_access(event.service_principal, enabled_us))
    else:
        add_transfer_event(batch, position, event, timestamp_us)


def _handshake_row(event: Any, timestamp_us: int) -> Row:
    expires_us = to_us(event.expires_at)
    return {
        "id": event.originator_id, "organization_id": event.organization_id, "action": event.action,
        "state": event.state, "requested_us": timestamp_us, "expires_us": expires_us,
        "closed_us": timestamp_us if event.state not in LIVE_STATES else None,
        "visible_until_us": expires_us + RETENTION_US, "parent_id": event.parent_id,
        "pending_children": len(event.children), "sender_account_id": event.sender_account_id,
        "recipient_account_id": event.recipient_account_id,
        "target_email": email_key(event.target_id) if event.target_type == "EMAIL" else None,
    }


def _counted(batch: RowChanges, position: int, change: Any) -> Any:
    """A change of handshake rows whose new versions move the visible counts (``rollup_visible``).
    It holds the batch's ``visible`` only, not the batch: the batch holds it, and a cycle would keep
    every batch of a replay alive until a full collection (which a replay makes rare)."""
    visible = batch.visible

    def counted(row: Row) -> tuple[Row, bool]:
        columns, versioned = change(row)
        if versioned:
            visible.changed(position, row, {**row, **columns})
        return columns, versioned

    return counted


def _profile(batch: RowChanges, position: int, account_id: str, email: str, name: str) -> Any:
    """An account's new email and name; an email move too when the address differs."""
    profile = {"email": email, "email_key": email_key(email), "name": name}
    moves = batch.email_moves  # not the batch: no cycle (see _counted)

    def change(row: Row) -> tuple[Row, bool]:
        if row["email_key"] != profile["email_key"]:
            moves.append((position, account_id, profile["email_key"], row["email_key"]))
        return profile, True
    return change


def _closing(state: str, actor: str, closed_us: int, rollup: RollupChanges) -> Any:
    """Accepted, Declined or Canceled: the state, when, and who answered (decision 19); the
    analytics' counters learn it from the version it closes."""

    def change(row: Row) -> tuple[Row, bool]:
        if row["state"] in LIVE_STATES:
            rollup.closed(row, state, closed_us)
        # never visible longer than it already is: a deleted organization's end (decision 30) stays
        columns: Row = {"state": state, "closed_us": closed_us,
                        "visible_until_us": min(closed_us + RETENTION_US, row["visible_until_us"])}
        if state != CANCELED and row["recipient_account_id"] is None:
            columns["recipient_account_id"] = actor  # an EMAIL invitation's recipient: who answered
        return columns, True

    return change


def _listed(column: str, item: str, present: bool) -> Any:
    """A JSON list column with ``item`` appended (in the order enabled) or removed."""

    def change(row: Row) -> tuple[Row, bool]:
        items = [i for i in json.loads(row[column]) if i != item] + ([item] if present else [])
        return {column: json.dumps(items)}, True

    return change


def _service_access(principal: str, enabled_us: int | None) -> Any:
    """Trusted access enabled for ``principal`` at ``enabled_us`` (its DateEnabled), or disabled (None)."""

    def change(row: Row) -> tuple[Row, bool]:
        access = {p: us for p, us in json.loads(row["service_access"]).items() if p != principal}
        if enabled_us is not None:
            access[principal] = enabled_us
        return {"service_access": json.dumps(access)}, True

    return change


def _child_answered(row: Row) -> tuple[Row, bool]:
    """An approval less to wait for; the last one opens the parent (a new version)."""
    pending = row["pending_children"] - 1
    if pending == 0 and row["state"] == REQUESTED:
        return {"pending_children": 0, "state": OPEN}, True
    return {"pending_children": pending}, False
