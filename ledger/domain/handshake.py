"""The Handshake aggregate: one AWS Organizations handshake and everything that happened to it.

Expiry and retention are never stored: they are derived from the events and an instant
(decisions 13-14), so the same history reads differently as time passes.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from eventsourcing.domain import event

from ledger.domain.aggregate import LedgerAggregate, LedgerCreated
from ledger.domain.errors import HandshakeAlreadyInStateException, InvalidHandshakeTransitionException

INVITE = "INVITE"
ENABLE_ALL_FEATURES = "ENABLE_ALL_FEATURES"
APPROVE_ALL_FEATURES = "APPROVE_ALL_FEATURES"

REQUESTED, OPEN = "REQUESTED", "OPEN"
ACCEPTED, DECLINED, CANCELED, EXPIRED = "ACCEPTED", "DECLINED", "CANCELED", "EXPIRED"
LIVE_STATES = (REQUESTED, OPEN)
TERMINAL_STATES = (ACCEPTED, DECLINED, CANCELED, EXPIRED)

INVITE_LIFETIME = timedelta(days=15)
ALL_FEATURES_LIFETIME = timedelta(days=90)
RETENTION = timedelta(days=30)


def state_at(stored_state: str, expires_at: datetime, now: datetime) -> str:
    """The state a reader sees at ``now``: a live handshake past its expiration reads EXPIRED."""
    if stored_state in LIVE_STATES and now >= expires_at:
        return EXPIRED
    return stored_state


def ended_at(stored_state: str, closed_at: datetime | None, expires_at: datetime, now: datetime) -> datetime | None:
    """When the handshake ended as seen at ``now`` (None while it is live)."""
    if stored_state in LIVE_STATES:
        return expires_at if now >= expires_at else None
    return closed_at


def visible_at(stored_state: str, closed_at: datetime | None, expires_at: datetime, now: datetime) -> bool:
    """An ended handshake stays visible for 30 days, then disappears from every view."""
    end = ended_at(stored_state, closed_at, expires_at, now)
    return end is None or now < end + RETENTION


class Handshake(LedgerAggregate):
    TOPIC = "handshake-ledger:Handshake"

    # -- events: the stored topics are the refactor-proof names of these classes ----------

    class Event(LedgerAggregate.Event):
        pass

    class Created(Event, LedgerCreated):
        TOPIC = "handshake-ledger:Handshake.Created:v1"
        action: str
        arn: str
        organization_id: str
        sender_account_id: str
        recipient_account_id: str | None
        target_type: str
        target_id: str
        parties: list[dict[str, str]]
        resources: list[dict[str, Any]]
        state: str
        expires_at: datetime
        parent_id: str | None
        children: list[str]
        tags: list[dict[str, str]]

    class Accepted(Event):
        TOPIC = "handshake-ledger:Handshake.Accepted:v1"

    class Declined(Event):
        TOPIC = "handshake-ledger:Handshake.Declined:v1"

    class Canceled(Event):
        TOPIC = "handshake-ledger:Handshake.Canceled:v1"
        cause: str | None

    class ChildAccepted(Event):
        TOPIC = "handshake-ledger:Handshake.ChildAccepted:v1"
        child_id: str

    class ChildWithdrawn(Event):
        TOPIC = "handshake-ledger:Handshake.ChildWithdrawn:v1"
        child_id: str

    @event(Created)
    def __init__(
        self,
        id: str,
        action: str,
        arn: str,
        organization_id: str,
        sender_account_id: str,
        recipient_account_id: str | None,
        target_type: str,
        target_id: str,
        parties: list[dict[str, str]],
        resources: list[dict[str, Any]],
        state: str,
        expires_at: datetime,
        parent_id: str | None,
        children: list[str],
        tags: list[dict[str, str]],
        actor: str,
        request_id: str | None,
        timestamp: datetime,
    ) -> None:
        self.action = action
        self.arn = arn
        self.organization_id = organization_id
        self.sender_account_id = sender_account_id
        self.recipient_account_id = recipient_account_id
        self.target_type = target_type
        self.target_id = target_id
        self.parties = parties
        self.resources = resources
        self.state = state
        self.requested_at = timestamp
        self.expires_at = expires_at
        self.closed_at: datetime | None = None
        self.parent_id = parent_id
        self.children = list(children)
        self.pending_children = list(children)
        self.tags = tags

    # -- reading ------------------------------------------------------------------------

    def state_at(self, now: datetime) -> str:
        return state_at(self.state, self.expires_at, now)

    def is_visible_at(self, now: datetime) -> bool:
        return visible_at(self.state, self.closed_at, self.expires_at, now)

    def is_live_at(self, now: datetime) -> bool:
        return self.state_at(now) in LIVE_STATES

    # -- guarded commands ----------------------------------------------------------------

    def check_accept(self, now: datetime) -> None:
        """Raise what accepting at ``now`` would be refused with (state only; nothing changes)."""
        self._check_move_to(ACCEPTED, now)
        if self.action == ENABLE_ALL_FEATURES and self.state_at(now) == REQUESTED:
            raise InvalidHandshakeTransitionException(
                f"Handshake {self.id} is still waiting for the approval of {', '.join(self.pending_children)}; it "
                "can be accepted once it is OPEN. An approval declined or canceled is never given: remove that "
                "member account from the organization, or cancel this request and start again."
            )

    def accept(self, *, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.check_accept(timestamp)
        self._accepted(actor=actor, request_id=request_id, timestamp=timestamp)

    def check_decline(self, now: datetime) -> None:
        """Raise what declining at ``now`` would be refused with (state only; nothing changes)."""
        self._check_move_to(DECLINED, now)
        if self.action == ENABLE_ALL_FEATURES:
            raise InvalidHandshakeTransitionException(
                "An ENABLE_ALL_FEATURES handshake can be accepted or canceled, not declined."
            )

    def decline(self, *, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self.check_decline(timestamp)
        self._declined(actor=actor, request_id=request_id, timestamp=timestamp)

    def cancel(self, *, actor: str, request_id: str | None, timestamp: datetime, cause: str | None = None) -> None:
        self._check_move_to(CANCELED, timestamp)
        self._canceled(cause=cause, actor=actor, request_id=request_id, timestamp=timestamp)

    def record_child_accepted(self, child_id: str, *, actor: str, request_id: str | None, timestamp: datetime) -> None:
        if child_id in self.pending_children and self.is_live_at(timestamp):
            self._child_accepted(child_id=child_id, actor=actor, request_id=request_id, timestamp=timestamp)

    def withdraw_child(self, child_id: str, *, actor: str, request_id: str | None, timestamp: datetime) -> None:
        """A member left: its approval is no longer awaited."""
        if child_id in self.pending_children and self.is_live_at(timestamp):
            self._child_withdrawn(child_id=child_id, actor=actor, request_id=request_id, timestamp=timestamp)

    def _check_move_to(self, wanted: str, now: datetime) -> None:
        current = self.state_at(now)
        if current == wanted:
            raise HandshakeAlreadyInStateException(f"Handshake {self.id} is already {current}.")
        if current in TERMINAL_STATES:
            raise InvalidHandshakeTransitionException(
                f"Handshake {self.id} is {current}; it can't become {wanted}."
            )

    # -- recorded changes (replayed: no checks, no clock) --------------------------------

    @event(Accepted)
    def _accepted(self, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self._close(ACCEPTED, timestamp)
        if self.target_type == "EMAIL":  # the AcceptHandshake example: the EMAIL party stays
            self.resources = [*self.resources, {"Type": "ACCOUNT", "Value": actor}]
        self._answered_by(actor)

    @event(Declined)
    def _declined(self, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self._close(DECLINED, timestamp)
        self._answered_by(actor)

    @event(Canceled)
    def _canceled(self, cause: str | None, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self._close(CANCELED, timestamp)

    @event(ChildAccepted)
    def _child_accepted(self, child_id: str, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self._drop_pending(child_id)

    @event(ChildWithdrawn)
    def _child_withdrawn(self, child_id: str, actor: str, request_id: str | None, timestamp: datetime) -> None:
        self._drop_pending(child_id)

    def _answered_by(self, account_id: str) -> None:
        """An EMAIL invitation's recipient, unknown until answered, is the account that answered."""
        if self.recipient_account_id is None:
            self.recipient_account_id = account_id

    def _close(self, state: str, timestamp: datetime) -> None:
        self.state = state
        self.closed_at = timestamp

    def _drop_pending(self, child_id: str) -> None:
        self.pending_children = [c for c in self.pending_children if c != child_id]
        if not self.pending_children and self.state == REQUESTED:
            self.state = OPEN
