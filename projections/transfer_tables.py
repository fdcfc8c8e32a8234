"""The view's responsibility transfers table (``docs/decisions.md`` decisions 20-26), versioned
like the handshakes (``projections/versions.py``): one version per change an answer shows, so
``ledger.at(T)`` answers DescribeResponsibilityTransfer and both Lists as they stood.

What is derived at read time is never stored as a change: EXPIRED (``expires_us``), retention
(``visible_until_us``, far in the future for an accepted transfer: never purged) and whether a
transfer is in effect (``start_us``/``end_us``). ``target_email``: the address of an EMAIL
invitation (its key), which the directory resolves at the moment read until someone answers.
"""

from __future__ import annotations

from typing import Any

from ledger.domain.directory import email_key
from ledger.domain.instants import to_us
from ledger.domain.transfer import ACCEPTED, CANCELED, DECLINED, RETENTION, WITHDRAWN, ResponsibilityTransfer
from projections.versions import Row, VersionedBatch, VersionedTable

NEVER_US = 2 ** 62  # visible_until_us of a transfer that is never purged
RETENTION_US = int(RETENTION.total_seconds()) * 1_000_000
VERSION_COLUMNS = "valid_from BIGINT NOT NULL, valid_to BIGINT"
TRANSFER_TABLES = f"""
CREATE TABLE IF NOT EXISTS {{p}}transfers (
    id TEXT NOT NULL, {VERSION_COLUMNS},
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    handshake_id TEXT NOT NULL,
    requested_us BIGINT NOT NULL,
    expires_us BIGINT NOT NULL,
    closed_us BIGINT,
    visible_until_us BIGINT NOT NULL,
    start_us BIGINT NOT NULL,
    end_us BIGINT,
    inviter_account_id TEXT NOT NULL,
    inviter_organization_id TEXT NOT NULL,
    source_account_id TEXT,
    source_organization_id TEXT,
    target_type TEXT NOT NULL,
    target_id TEXT NOT NULL,
    target_email TEXT,
    inbound_name TEXT NOT NULL,
    outbound_name TEXT NOT NULL,
    PRIMARY KEY (id, valid_from)
);
CREATE INDEX IF NOT EXISTS {{p}}transfers_by_inviter
    ON {{p}}transfers (inviter_organization_id, requested_us, id, valid_from, valid_to);
CREATE INDEX IF NOT EXISTS {{p}}transfers_by_source ON {{p}}transfers (source_account_id, requested_us, id, valid_from, valid_to);
CREATE INDEX IF NOT EXISTS {{p}}transfers_by_email ON {{p}}transfers (target_email, requested_us, id, valid_from, valid_to);
CREATE INDEX IF NOT EXISTS {{p}}transfers_changed ON {{p}}transfers (valid_from);
"""
TRANSFER_TABLE_NAMES = ("transfers",)
TRANSFERS = VersionedTable("transfers", "id", (
    "id", "valid_from", "valid_to", "type", "status", "handshake_id", "requested_us", "expires_us", "closed_us",
    "visible_until_us", "start_us", "end_us", "inviter_account_id", "inviter_organization_id",
    "source_account_id", "source_organization_id", "target_type", "target_id", "target_email",
    "inbound_name", "outbound_name",
))


def add_transfer_event(batch: VersionedBatch, position: int, event: Any, timestamp_us: int) -> bool:
    """Add a transfer event's row change to ``batch``; False if ``event`` is not a transfer's."""
    key = event.originator_id
    if isinstance(event, ResponsibilityTransfer.Invited):
        expires_us = to_us(event.expires_at)
        batch.insert("transfers", position, {
            "id": key, "type": event.type, "status": "REQUESTED", "handshake_id": event.handshake_id,
            "requested_us": timestamp_us, "expires_us": expires_us, "closed_us": None,
            "visible_until_us": expires_us + RETENTION_US, "start_us": to_us(event.start_at), "end_us": None,
            "inviter_account_id": event.inviter_account_id, "inviter_organization_id": event.inviter_organization_id,
            "source_account_id": event.target_id if event.target_type == "ACCOUNT" else None,
            "source_organization_id": None, "target_type": event.target_type, "target_id": event.target_id,
            "target_email": email_key(event.target_id) if event.target_type == "EMAIL" else None,
            "inbound_name": event.name, "outbound_name": event.name,
        })
    elif isinstance(event, ResponsibilityTransfer.Accepted):
        accepted = {"status": ACCEPTED, "closed_us": timestamp_us, "visible_until_us": NEVER_US,
                    "source_account_id": event.source_account_id,
                    "source_organization_id": event.source_organization_id}
        batch.change("transfers", position, key, lambda _: (accepted, True))
    elif isinstance(event, (ResponsibilityTransfer.Declined, ResponsibilityTransfer.Canceled)):
        declined = isinstance(event, ResponsibilityTransfer.Declined)
        batch.change("transfers", position, key, _closing(DECLINED if declined else CANCELED, timestamp_us,
                                                          event.actor if declined else None))
    elif isinstance(event, ResponsibilityTransfer.Withdrawn):
        withdrawn = {"status": WITHDRAWN, "end_us": to_us(event.end_at)}
        batch.change("transfers", position, key, lambda _: (withdrawn, True))
    elif isinstance(event, ResponsibilityTransfer.Renamed):
        renamed = {f"{event.side}_name": event.name}
        batch.change("transfers", position, key, lambda _: (renamed, True))
    else:
        return False
    return True


def _closing(status: str, closed_us: int, answered_by: str | None) -> Any:
    def change(row: Row) -> tuple[Row, bool]:
        columns: Row = {"status": status, "closed_us": closed_us, "visible_until_us": closed_us + RETENTION_US}
        if answered_by is not None and row["source_account_id"] is None:
            columns["source_account_id"] = answered_by
        return columns, True
    return change
