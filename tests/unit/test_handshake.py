"""The Handshake aggregate alone: given its events, when a command, then new events or an error.

No application, no store, no clock: every instant is passed in. A refused move raises before it
records, so it leaves no pending event (guard, then record). See docs/decisions.md decisions
5-7, 10, 13 and 14.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from ledger.domain.errors import HandshakeAlreadyInStateException, InvalidHandshakeTransitionException
from ledger.domain.handshake import (
    ACCEPTED,
    APPROVE_ALL_FEATURES,
    CANCELED,
    DECLINED,
    ENABLE_ALL_FEATURES,
    EXPIRED,
    INVITE,
    INVITE_LIFETIME,
    OPEN,
    REQUESTED,
    RETENTION,
    Handshake,
)

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
MANAGEMENT, ALICE = "111111111111", "222222222222"
ORG = "o-abcdefghij"


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def given_handshake(
    action: str = INVITE, state: str = OPEN, target_type: str = "ACCOUNT", target_id: str = ALICE,
    children: list[str] | None = None, lifetime: timedelta = INVITE_LIFETIME,
) -> Handshake:
    """A handshake created at T0, its Created event already collected (the 'given')."""
    recipient = target_id if target_type == "ACCOUNT" else None
    handshake = Handshake(
        id="h-abcdefgh12", action=action, arn=f"arn:aws:organizations::{MANAGEMENT}:handshake/{ORG}/invite/h-x",
        organization_id=ORG, sender_account_id=MANAGEMENT, recipient_account_id=recipient,
        target_type=target_type, target_id=target_id, parties=[], resources=[], state=state,
        expires_at=T0 + lifetime, parent_id=None, children=children or [], tags=[],
        actor=MANAGEMENT, request_id="r-0", timestamp=T0,
    )
    handshake.collect_events()
    return handshake


def new_events(handshake: Handshake) -> list[tuple[str, dict[str, Any]]]:
    """The pending events' class names and the fields a reader of the history would notice."""
    return [
        (type(e).__name__, {"actor": e.actor, "request_id": e.request_id, "timestamp": e.timestamp})
        for e in handshake.collect_events()
    ]


class TestCreated:
    def test_creating_a_handshake_records_one_created_event_with_its_fields(self) -> None:
        handshake = Handshake(
            id="h-abcdefgh12", action=INVITE, arn="arn", organization_id=ORG, sender_account_id=MANAGEMENT,
            recipient_account_id=ALICE, target_type="ACCOUNT", target_id=ALICE, parties=[], resources=[],
            state=OPEN, expires_at=T0 + INVITE_LIFETIME, parent_id=None, children=[], tags=[],
            actor=MANAGEMENT, request_id="r-0", timestamp=T0,
        )
        [created] = handshake.collect_events()
        assert type(created).__name__ == "Created"
        assert (created.originator_id, created.originator_version, created.timestamp) == ("h-abcdefgh12", 1, T0)
        assert (handshake.requested_at, handshake.expires_at, handshake.state) == (T0, at(15), OPEN)


class TestDecline:
    def test_the_recipient_declining_an_open_invitation_records_declined(self) -> None:
        handshake = given_handshake()
        handshake.decline(actor=ALICE, request_id="r-1", timestamp=at(1))
        assert new_events(handshake) == [("Declined", {"actor": ALICE, "request_id": "r-1", "timestamp": at(1)})]
        assert (handshake.state, handshake.closed_at) == (DECLINED, at(1))

    def test_declining_a_declined_handshake_is_already_in_state_and_records_nothing(self) -> None:
        handshake = given_handshake()
        handshake.decline(actor=ALICE, request_id="r-1", timestamp=at(1))
        handshake.collect_events()
        with pytest.raises(HandshakeAlreadyInStateException):
            handshake.decline(actor=ALICE, request_id="r-2", timestamp=at(2))
        assert new_events(handshake) == []

    def test_declining_an_expired_invitation_is_an_invalid_transition_and_records_nothing(self) -> None:
        handshake = given_handshake()
        with pytest.raises(InvalidHandshakeTransitionException):
            handshake.decline(actor=ALICE, request_id="r-1", timestamp=at(15))
        assert new_events(handshake) == []
        assert handshake.state == OPEN  # expiry is read, never recorded

    def test_an_enable_all_features_parent_is_never_declined(self) -> None:
        parent = given_handshake(action=ENABLE_ALL_FEATURES, state=OPEN, target_id=MANAGEMENT, lifetime=timedelta(days=90))
        with pytest.raises(InvalidHandshakeTransitionException, match="not declined"):
            parent.decline(actor=MANAGEMENT, request_id="r-1", timestamp=at(1))
        assert new_events(parent) == []


class TestAccept:
    def test_accepting_an_open_invitation_records_accepted(self) -> None:
        handshake = given_handshake()
        handshake.accept(actor=ALICE, request_id="r-1", timestamp=at(2))
        assert new_events(handshake) == [("Accepted", {"actor": ALICE, "request_id": "r-1", "timestamp": at(2)})]
        assert handshake.state_at(at(100)) == ACCEPTED

    def test_accepting_a_canceled_invitation_is_an_invalid_transition_and_records_nothing(self) -> None:
        handshake = given_handshake()
        handshake.cancel(actor=MANAGEMENT, request_id="r-1", timestamp=at(1))
        handshake.collect_events()
        with pytest.raises(InvalidHandshakeTransitionException):
            handshake.accept(actor=ALICE, request_id="r-2", timestamp=at(2))
        assert new_events(handshake) == []

    def test_an_email_invitation_learns_its_recipient_and_gains_an_account_resource_when_accepted(self) -> None:
        handshake = given_handshake(target_type="EMAIL", target_id="alice@example.com")
        assert handshake.recipient_account_id is None
        handshake.accept(actor=ALICE, request_id="r-1", timestamp=at(1))
        assert handshake.recipient_account_id == ALICE
        assert handshake.resources[-1] == {"Type": "ACCOUNT", "Value": ALICE}


class TestCancel:
    def test_the_cancel_event_carries_its_cause(self) -> None:
        handshake = given_handshake()
        handshake.cancel(actor=MANAGEMENT, request_id=None, timestamp=at(3), cause="organization deleted")
        [canceled] = handshake.collect_events()
        assert (type(canceled).__name__, canceled.cause) == ("Canceled", "organization deleted")
        assert handshake.state == CANCELED

    def test_canceling_twice_is_already_in_state(self) -> None:
        handshake = given_handshake()
        handshake.cancel(actor=MANAGEMENT, request_id=None, timestamp=at(1))
        handshake.collect_events()
        with pytest.raises(HandshakeAlreadyInStateException):
            handshake.cancel(actor=MANAGEMENT, request_id=None, timestamp=at(2))
        assert new_events(handshake) == []


class TestAllFeaturesParent:
    def given_parent(self) -> Handshake:
        return given_handshake(action=ENABLE_ALL_FEATURES, state=REQUESTED, target_id=MANAGEMENT,
                               children=["h-child00001", "h-child00002"], lifetime=timedelta(days=90))

    def test_a_requested_parent_cannot_be_accepted_and_records_nothing(self) -> None:
        parent = self.given_parent()
        with pytest.raises(InvalidHandshakeTransitionException, match="h-child00001, h-child00002"):
            parent.accept(actor=MANAGEMENT, request_id="r-1", timestamp=at(1))
        assert new_events(parent) == []

    def test_the_parent_opens_once_every_child_is_accepted(self) -> None:
        parent = self.given_parent()
        parent.record_child_accepted("h-child00001", actor=ALICE, request_id=None, timestamp=at(1))
        assert parent.state == REQUESTED
        parent.record_child_accepted("h-child00002", actor="333333333333", request_id=None, timestamp=at(2))
        assert [name for name, _ in new_events(parent)] == ["ChildAccepted", "ChildAccepted"]
        assert parent.state == OPEN
        parent.accept(actor=MANAGEMENT, request_id="r-1", timestamp=at(3))
        assert [name for name, _ in new_events(parent)] == ["Accepted"]

    def test_a_withdrawn_child_is_no_longer_awaited(self) -> None:
        parent = self.given_parent()
        parent.withdraw_child("h-child00001", actor=MANAGEMENT, request_id=None, timestamp=at(1))
        parent.record_child_accepted("h-child00002", actor=ALICE, request_id=None, timestamp=at(1))
        assert [name for name, _ in new_events(parent)] == ["ChildWithdrawn", "ChildAccepted"]
        assert parent.state == OPEN

    def test_news_of_an_unknown_child_or_after_expiry_records_nothing(self) -> None:
        parent = self.given_parent()
        parent.record_child_accepted("h-stranger001", actor=ALICE, request_id=None, timestamp=at(1))
        parent.record_child_accepted("h-child00001", actor=ALICE, request_id=None, timestamp=at(90))
        assert new_events(parent) == []


class TestReadAtAnInstant:
    def test_an_open_invitation_reads_expired_from_its_expiration_on(self) -> None:
        handshake = given_handshake()
        assert handshake.state_at(at(15) - timedelta(microseconds=1)) == OPEN
        assert handshake.state_at(at(15)) == EXPIRED
        assert handshake.is_live_at(at(14)) and not handshake.is_live_at(at(15))

    def test_an_expired_invitation_is_visible_for_thirty_days_after_it_expired(self) -> None:
        handshake = given_handshake()
        assert handshake.is_visible_at(at(15) + RETENTION - timedelta(microseconds=1))
        assert not handshake.is_visible_at(at(15) + RETENTION)

    def test_a_declined_invitation_disappears_thirty_days_after_it_was_declined(self) -> None:
        handshake = given_handshake()
        handshake.decline(actor=ALICE, request_id=None, timestamp=at(2))
        assert handshake.state_at(at(20)) == DECLINED  # an ended handshake never reads EXPIRED
        assert handshake.is_visible_at(at(31) + timedelta(hours=23))
        assert not handshake.is_visible_at(at(32))

    def test_an_approval_child_reads_the_same_way(self) -> None:
        child = given_handshake(action=APPROVE_ALL_FEATURES, lifetime=timedelta(days=90))
        assert child.state_at(at(89)) == OPEN
        assert child.state_at(at(90)) == EXPIRED


class TestReplay:
    def test_replaying_the_recorded_events_gives_the_same_handshake_without_checks(self) -> None:
        handshake = Handshake(
            id="h-abcdefgh12", action=INVITE, arn="arn", organization_id=ORG, sender_account_id=MANAGEMENT,
            recipient_account_id=None, target_type="EMAIL", target_id="alice@example.com", parties=[],
            resources=[], state=OPEN, expires_at=at(15), parent_id=None, children=[], tags=[],
            actor=MANAGEMENT, request_id=None, timestamp=T0,
        )
        handshake.accept(actor=ALICE, request_id="r-1", timestamp=at(1))
        events = handshake.collect_events()
        replayed = None
        for recorded in events:
            replayed = recorded.mutate(replayed)
        assert replayed is not None
        assert (replayed.state, replayed.closed_at, replayed.recipient_account_id, replayed.version) == (
            ACCEPTED, at(1), ALICE, 2)
        # Replayed long after expiry, the recorded acceptance stands: replay checks nothing.
        assert replayed.state_at(at(400)) == ACCEPTED
