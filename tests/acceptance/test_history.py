"""Audit trail and time travel of one handshake, against hand-built expectations."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ledger.domain.errors import HandshakeNotFoundException
from tests.conftest import ALICE, MANAGEMENT

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


class TestHistory:
    def test_invite_decline_trail(self, world):
        handshake_id = world.invite(ALICE)
        world.clock.tick(3600)
        world.alice.decline_handshake(HandshakeId=handshake_id)
        trail = [(e.version, e.timestamp, e.what, e.actor, e.state, e.derived) for e in world.ledger.history(handshake_id)]
        assert trail == [
            (1, T0, "Requested", MANAGEMENT, "OPEN", False),
            (2, T0 + timedelta(hours=1), "Declined", ALICE, "DECLINED", False),
        ]

    def test_history_read_at_an_instant(self, world):
        handshake_id = world.invite(ALICE)
        world.days(20)
        assert [e.what for e in world.ledger.history(handshake_id, as_of=T0 + timedelta(days=1))] == ["Requested"]
        assert [e.what for e in world.ledger.history(handshake_id, as_of=T0 + timedelta(days=15))] == \
            ["Requested", "Expired"]

    def test_unknown_handshake_has_no_history(self, world):
        with pytest.raises(HandshakeNotFoundException):
            world.ledger.history("h-0000000000")

    def test_cancel_records_the_cause(self, billing_world):
        world = billing_world
        handshake_id = world.invite(ALICE)
        world.mgmt.enable_all_features()
        assert world.ledger.history(handshake_id)[-1].details["cause"].startswith("ENABLE_ALL_FEATURES h-")


class TestTimeTravel:
    def test_as_of_version(self, world):
        handshake_id = world.invite(ALICE)
        world.clock.tick(60)
        world.alice.accept_handshake(HandshakeId=handshake_id)
        assert world.ledger.handshake_as_of(handshake_id, version=1)["State"] == "OPEN"
        assert world.ledger.handshake_as_of(handshake_id, version=2)["State"] == "ACCEPTED"

    def test_as_of_instant_derives_expiry_then(self, world):
        handshake_id = world.invite(ALICE)
        world.days(40)
        as_of = world.ledger.handshake_as_of
        assert as_of(handshake_id, instant=T0)["State"] == "OPEN"
        assert as_of(handshake_id, instant=T0 + timedelta(days=15) - timedelta(microseconds=1))["State"] == "OPEN"
        assert as_of(handshake_id, instant=T0 + timedelta(days=15))["State"] == "EXPIRED"

    def test_as_of_instant_between_events(self, world):
        handshake_id = world.invite(ALICE)
        world.days(2)
        world.alice.decline_handshake(HandshakeId=handshake_id)
        assert world.ledger.handshake_as_of(handshake_id, instant=T0 + timedelta(days=1))["State"] == "OPEN"
        assert world.ledger.handshake_as_of(handshake_id, instant=T0 + timedelta(days=2))["State"] == "DECLINED"

    def test_before_it_existed_is_not_found(self, world):
        world.days(1)
        handshake_id = world.invite(ALICE)
        with pytest.raises(HandshakeNotFoundException):
            world.ledger.handshake_as_of(handshake_id, instant=T0)
