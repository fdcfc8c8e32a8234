"""Accounts and the email addresses that identify them: the directory's aggregates (decision 19).

An ``Account`` (id: the 12-digit account id) knows its email, its name and which
organization it belongs to. An ``EmailClaim`` (id: ``email:<address in lower case>``) maps a
registered email back to its account, so EMAIL-targeted invitations find their recipient
without a scan. Default addresses (``account-<id>@example.com``) are never claimed: the rule
in ``ledger/domain/directory.py`` resolves them.
"""

from __future__ import annotations

from datetime import datetime

from eventsourcing.domain import event

from ledger.domain.aggregate import LedgerAggregate, LedgerCreated
from ledger.domain.directory import default_email, default_name, email_key

__all__ = ["Account", "EmailClaim", "default_email", "default_name", "email_claim_id"]


def email_claim_id(email: str) -> str:
    """The id of the claim on an address: ``email:`` and its ``email_key``."""
    return f"email:{email_key(email)}"


class Account(LedgerAggregate):
    TOPIC = "handshake-ledger:Account"

    class Event(LedgerAggregate.Event):
        pass

    class Created(Event, LedgerCreated):
        TOPIC = "handshake-ledger:Account.Created:v1"
        email: str
        name: str

    class ProfileChanged(Event):
        TOPIC = "handshake-ledger:Account.ProfileChanged:v1"
        email: str
        name: str

    class JoinedOrganization(Event):
        TOPIC = "handshake-ledger:Account.JoinedOrganization:v1"
        organization_id: str
        method: str
        handshake_id: str | None

    class LeftOrganization(Event):
        TOPIC = "handshake-ledger:Account.LeftOrganization:v1"
        organization_id: str

    @event(Created)
    def __init__(self, id: str, email: str, name: str, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.email = email
        self.name = name
        self.organization_id: str | None = None
        self.joined_method: str | None = None
        self.joined_at: datetime | None = None

    @event(ProfileChanged)
    def change_profile(self, email: str, name: str, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.email = email
        self.name = name

    @event(JoinedOrganization)
    def join(
        self, organization_id: str, method: str, handshake_id: str | None, actor: str, request_id: str | None, timestamp: datetime
    ) -> None:
        self.organization_id = organization_id
        self.joined_method = method
        self.joined_at = timestamp

    @event(LeftOrganization)
    def leave(self, organization_id: str, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.organization_id = None
        self.joined_method = None
        self.joined_at = None


class EmailClaim(LedgerAggregate):
    TOPIC = "handshake-ledger:EmailClaim"

    class Event(LedgerAggregate.Event):
        pass

    class Created(Event, LedgerCreated):
        TOPIC = "handshake-ledger:EmailClaim.Created:v1"
        account_id: str

    class Released(Event):
        TOPIC = "handshake-ledger:EmailClaim.Released:v1"

    class Reclaimed(Event):
        TOPIC = "handshake-ledger:EmailClaim.Reclaimed:v1"
        account_id: str

    @event(Created)
    def __init__(self, id: str, account_id: str, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.account_id: str | None = account_id

    @event(Released)
    def release(self, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.account_id = None

    @event(Reclaimed)
    def reclaim(self, account_id: str, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.account_id = account_id
