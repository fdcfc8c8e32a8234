"""The ResponsibilityTransfer aggregate (``rt-…``): a billing transfer between two organizations.

Vocabulary (``docs/decisions.md`` decisions 20-28): the **inviter** calls
InviteOrganizationToTransferResponsibility and becomes the transfer's ``Target`` (it pays; it sees
the transfer as *inbound*); the **invitee** is the request's ``Target`` party and becomes the
transfer's ``Source`` (it sees it as *outbound*).

Nothing time-driven is stored (decisions 13, 14, 22): EXPIRED, "in effect", "live" (counting
toward a quota) and retention are functions of the stored instants and the instant asked about.
The month rules of decision 23 are pure functions of two instants (UTC).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from eventsourcing.domain import event

from ledger.domain import errors
from ledger.domain.aggregate import LedgerAggregate, LedgerCreated

TRANSFER_RESPONSIBILITY = "TRANSFER_RESPONSIBILITY"
BILLING = "BILLING"
REQUESTED, ACCEPTED, DECLINED, CANCELED, EXPIRED, WITHDRAWN = (
    "REQUESTED", "ACCEPTED", "DECLINED", "CANCELED", "EXPIRED", "WITHDRAWN")
ANSWER_WINDOW = timedelta(hours=24)  # the invitation expires 24 h before the transfer starts
RETENTION = timedelta(days=30)
INBOUND, OUTBOUND = "inbound", "outbound"


# -- status, effect and retention at an instant ------------------------------------------------

def status_at(stored: str, expires_at: datetime, now: datetime) -> str:
    """The status a reader sees at ``now``: an unanswered invitation past its expiry is EXPIRED."""
    return EXPIRED if stored == REQUESTED and now >= expires_at else stored


def in_effect_at(stored: str, start_at: datetime, end_at: datetime | None, now: datetime) -> bool:
    """Responsibility is transferred at ``now``: ACCEPTED or WITHDRAWN, started, not yet ended."""
    return stored in (ACCEPTED, WITHDRAWN) and start_at <= now and (end_at is None or now <= end_at)


def visible_until(stored: str, closed_at: datetime | None, expires_at: datetime) -> datetime | None:
    """When a transfer leaves every answer: 30 days after it was declined, canceled or expired;
    never (None) once accepted."""
    if stored in (ACCEPTED, WITHDRAWN):
        return None
    if stored == REQUESTED:
        return expires_at + RETENTION
    return (closed_at or expires_at) + RETENTION


# -- the month rules of decision 23 ---------------------------------------------------------------

def month_start(year: int, month: int) -> datetime:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=timezone.utc)


def check_start(start: datetime, now: datetime) -> None:
    """InvalidInputException unless ``start`` is 00:00:00.000 UTC on the 1st of next month or the
    month after, and its invitation (expiring 24 h before) is not born expired."""
    start = start.astimezone(timezone.utc)
    now = now.astimezone(timezone.utc)
    if start.day != 1:
        raise errors.InvalidInputException(
            "You provided an invalid start date. The start date must be the first day of the month.",
            "START_DATE_NOT_BEGINNING_OF_MONTH")
    if (start.hour, start.minute, start.second, start.microsecond) != (0, 0, 0, 0):
        raise errors.InvalidInputException(
            "You provided an invalid start date. The start date must be the beginning of the day (00:00:00.000).",
            "START_DATE_NOT_BEGINNING_OF_DAY")
    if start < month_start(now.year, now.month + 1):
        raise errors.InvalidInputException(
            "You provided an invalid start date. The start date is too early.", "START_DATE_TOO_EARLY")
    if start > month_start(now.year, now.month + 2):
        raise errors.InvalidInputException(
            "You provided an invalid start date. The start date is too late.", "START_DATE_TOO_LATE")
    if start - ANSWER_WINDOW <= now:
        raise errors.InvalidInputException(
            "The start date doesn't meet the minimum requirements: the invitation must be answerable "
            "until 24 hours before the transfer starts.", "INVALID_START_DATE")


def default_end(now: datetime) -> datetime:
    """23:59:59.999 UTC on the last day of ``now``'s month."""
    now = now.astimezone(timezone.utc)
    return month_start(now.year, now.month + 1) - timedelta(milliseconds=1)


def check_end(end: datetime, now: datetime) -> None:
    """InvalidInputException unless ``end`` lies in [23:59:59.000, 23:59:59.999] UTC on the last day
    of the current or the next month."""
    end = end.astimezone(timezone.utc)
    now = now.astimezone(timezone.utc)
    next_day = end + timedelta(days=1)
    if next_day.day != 1 or (end.hour, end.minute, end.second) != (23, 59, 59):
        raise errors.InvalidInputException(
            "You provided an invalid end date. The end date must be the end of the last day of the month "
            "(23.59.59.999).", "END_DATE_NOT_END_OF_MONTH")
    month_after_end = month_start(end.year, end.month + 1)
    if month_after_end < month_start(now.year, now.month + 1):
        raise errors.InvalidInputException("You provided an invalid end date. The end date is too early.",
                                           "END_DATE_TOO_EARLY")
    if month_after_end > month_start(now.year, now.month + 2):
        raise errors.InvalidInputException("You provided an invalid end date. The end date is too late.",
                                           "END_DATE_TOO_LATE")


class ResponsibilityTransfer(LedgerAggregate):
    """One transfer, both sides: each side's name, the parties, its instants and its status."""

    TOPIC = "handshake-ledger:ResponsibilityTransfer"

    # -- events: the stored topics are the refactor-proof names of these classes ----------

    class Event(LedgerAggregate.Event):
        pass

    class Created(Event, LedgerCreated):
        """The base's creation event, never recorded for a transfer (``Invited`` is its creation)."""

        TOPIC = "handshake-ledger:ResponsibilityTransfer.Created:v1"

    class Invited(Event, LedgerCreated):
        """The inviter sent the invitation (the TRANSFER_RESPONSIBILITY handshake ``handshake_id``)."""

        TOPIC = "handshake-ledger:ResponsibilityTransfer.Invited:v1"
        type: str
        name: str
        handshake_id: str
        inviter_account_id: str
        inviter_organization_id: str
        target_type: str
        target_id: str
        start_at: datetime
        expires_at: datetime
        notes: str | None
        tags: list[dict[str, str]]

    class Accepted(Event):
        """The invitee accepted; it is the Source from now on. ``notified``: every management account
        whose history records the ResponsibilityTransferAccepted service event (decision 28);
        ``transfer``: what that event tells of the transfer (``summary``)."""

        TOPIC = "handshake-ledger:ResponsibilityTransfer.Accepted:v1"
        source_account_id: str
        source_organization_id: str
        notified: list[str]
        transfer: dict[str, Any]

    class Declined(Event):
        """The invitee declined."""

        TOPIC = "handshake-ledger:ResponsibilityTransfer.Declined:v1"

    class Canceled(Event):
        """The inviter canceled the unanswered invitation."""

        TOPIC = "handshake-ledger:ResponsibilityTransfer.Canceled:v1"

    class Withdrawn(Event):
        """A party terminated the accepted transfer; it ends at ``end_at``."""

        TOPIC = "handshake-ledger:ResponsibilityTransfer.Withdrawn:v1"
        end_at: datetime
        notified: list[str]
        transfer: dict[str, Any]

    class Renamed(Event):
        """A party renamed its own side (``side``: inbound or outbound)."""

        TOPIC = "handshake-ledger:ResponsibilityTransfer.Renamed:v1"
        side: str
        name: str

    @event(Invited)
    def __init__(
        self, id: str, type: str, name: str, handshake_id: str, inviter_account_id: str,
        inviter_organization_id: str, target_type: str, target_id: str, start_at: datetime,
        expires_at: datetime, notes: str | None, tags: list[dict[str, str]],
        actor: str, request_id: str | None, timestamp: datetime,
    ) -> None:
        self.type = type
        self.names = {INBOUND: name, OUTBOUND: name}
        self.handshake_id = handshake_id
        self.inviter_account_id = inviter_account_id
        self.inviter_organization_id = inviter_organization_id
        self.target_type = target_type
        self.target_id = target_id
        self.source_account_id: str | None = target_id if target_type == "ACCOUNT" else None
        self.source_organization_id: str | None = None
        self.start_at = start_at
        self.expires_at = expires_at
        self.notes = notes
        self.pending_tags = tags
        self.tags: list[dict[str, str]] = []
        self.status = REQUESTED
        self.requested_at = timestamp
        self.closed_at: datetime | None = None
        self.end_at: datetime | None = None

    # -- reading ------------------------------------------------------------------------------

    def status_at(self, now: datetime) -> str:
        return status_at(self.status, self.expires_at, now)

    def is_visible_at(self, now: datetime) -> bool:
        until = visible_until(self.status, self.closed_at, self.expires_at)
        return until is None or now < until

    def is_live_at(self, now: datetime) -> bool:
        """Counts toward the quotas at ``now`` (decision 24): REQUESTED, ACCEPTED, WITHDRAWN not ended."""
        status = self.status_at(now)
        return status in (REQUESTED, ACCEPTED) or (status == WITHDRAWN and self.end_at is not None
                                                    and now <= self.end_at)

    def is_established_at(self, now: datetime) -> bool:
        """Accepted and not ended at ``now`` (what the outbound quota and the chains count)."""
        return self.is_live_at(now) and self.status != REQUESTED

    def is_in_effect_at(self, now: datetime) -> bool:
        return in_effect_at(self.status, self.start_at, self.end_at, now)

    def side_of(self, account_id: str) -> str | None:
        if account_id == self.inviter_account_id:
            return INBOUND
        return OUTBOUND if account_id == self.source_account_id else None

    # -- guarded commands --------------------------------------------------------------------------

    def accept(self, source_account_id: str, source_organization_id: str, notified: list[str], *, actor: str,
               request_id: str | None, timestamp: datetime) -> None:
        summary = {**self.summary(), "source_account_id": source_account_id}
        self._accepted(source_account_id=source_account_id, source_organization_id=source_organization_id,
                       notified=notified, transfer=summary, actor=actor, request_id=request_id, timestamp=timestamp)

    def terminate(self, end_at: datetime, notified: list[str], *, actor: str, request_id: str | None,
                  timestamp: datetime) -> None:
        status = self.status_at(timestamp)
        if status == WITHDRAWN:
            raise errors.ResponsibilityTransferAlreadyInStatusException(
                f"The responsibility transfer {self.id} is already WITHDRAWN.")
        if status != ACCEPTED:
            raise errors.InvalidResponsibilityTransferTransitionException(
                f"The responsibility transfer {self.id} is {status}: only an ACCEPTED transfer can be "
                "withdrawn (an unanswered invitation is canceled with CancelHandshake).")
        self._withdrawn(end_at=end_at, notified=notified, transfer=self.summary(), actor=actor, request_id=request_id,
                        timestamp=timestamp)

    def rename(self, side: str, name: str, *, actor: str, request_id: str | None, timestamp: datetime) -> None:
        status = self.status_at(timestamp)
        if status not in (REQUESTED, ACCEPTED):
            raise errors.ConstraintViolationException(
                "You cannot update this transfer because it is no longer active. Transfers that have been "
                "withdrawn, declined, expired, or cancelled cannot be modified.",
                "TRANSFER_RESPONSIBILITY_UPDATE_NOT_ALLOWED")
        if self.names[side] != name:
            self._renamed(side=side, name=name, actor=actor, request_id=request_id, timestamp=timestamp)

    # -- recorded changes (replayed: no checks, no clock) -------------------------------------------

    @event(Accepted)
    def _accepted(self, source_account_id: str, source_organization_id: str, notified: list[str],
                  transfer: dict[str, Any], actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.status, self.closed_at = ACCEPTED, timestamp
        self.source_account_id = source_account_id
        self.source_organization_id = source_organization_id
        self.tags, self.pending_tags = self.pending_tags, []

    @event(Declined)
    def decline(self, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.status, self.closed_at = DECLINED, timestamp
        if self.source_account_id is None:
            self.source_account_id = actor

    @event(Canceled)
    def cancel(self, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.status, self.closed_at = CANCELED, timestamp

    @event(Withdrawn)
    def _withdrawn(self, end_at: datetime, notified: list[str], transfer: dict[str, Any], actor: str,
                   request_id: str | None, timestamp: datetime) -> None:
        self.status, self.end_at = WITHDRAWN, end_at

    @event(Renamed)
    def _renamed(self, side: str, name: str, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.names = {**self.names, side: name}

    def summary(self) -> dict[str, Any]:
        """What the service events of decision 28 tell of the transfer (kept in the event: self-contained)."""
        return {"type": self.type, "handshake_id": self.handshake_id, "start_at": self.start_at,
                "inviter_account_id": self.inviter_account_id, "source_account_id": self.source_account_id}

    def as_row(self) -> dict[str, Any]:
        """The fields an answer is made of (``ledger.service_layer.transfer_shapes``)."""
        return {
            "id": self.id, "type": self.type, "status": self.status, "expires_at": self.expires_at,
            "start_at": self.start_at, "end_at": self.end_at, "handshake_id": self.handshake_id,
            "inviter_account_id": self.inviter_account_id, "inviter_organization_id": self.inviter_organization_id,
            "source_account_id": self.source_account_id, "source_organization_id": self.source_organization_id,
            "target_type": self.target_type, "target_id": self.target_id,
            "inbound_name": self.names[INBOUND], "outbound_name": self.names[OUTBOUND],
        }
