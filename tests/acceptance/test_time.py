"""Expiry and retention come from the events and the clock: decisions 13-14."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import ALICE
from tests.acceptance.conftest import error_of


def listed(world, handshake_id):
    for_account = [h["Id"] for h in world.alice.list_handshakes_for_account()["Handshakes"]]
    for_org = [h["Id"] for h in world.mgmt.list_handshakes_for_organization()["Handshakes"]]
    return handshake_id in for_account, handshake_id in for_org


class TestExpiry:
    def test_open_until_the_last_microsecond(self, world):
        handshake_id = world.invite(ALICE)
        world.clock.tick(timedelta(days=15) - timedelta(microseconds=1))
        assert world.state(handshake_id) == "OPEN"
        world.clock.tick(timedelta(microseconds=1))
        assert world.state(handshake_id) == "EXPIRED"

    def test_no_expired_event_is_stored(self, world):
        handshake_id = world.invite(ALICE)
        world.days(20)
        assert world.state(handshake_id) == "EXPIRED"
        assert [type(e).__name__ for e in world.stored_events(handshake_id)] == ["Created"]

    def test_history_ends_with_derived_expiry(self, world):
        handshake_id = world.invite(ALICE)
        expires = world.mgmt.describe_handshake(HandshakeId=handshake_id)["Handshake"]["ExpirationTimestamp"]
        assert [e.what for e in world.ledger.history(handshake_id)] == ["Requested"]
        world.days(16)
        last = world.ledger.history(handshake_id)[-1]
        assert (last.what, last.timestamp, last.derived, last.version, last.state) == (
            "Expired", expires, True, None, "EXPIRED")

    def test_expired_invitation_can_not_be_accepted(self, world):
        handshake_id = world.invite(ALICE)
        world.days(15)
        assert error_of(world.alice.accept_handshake, HandshakeId=handshake_id).code == \
            "InvalidHandshakeTransitionException"


class TestRetention:
    @pytest.mark.parametrize("ending", ["accept", "decline", "cancel"])
    def test_visible_for_30_days_after_it_ended_to_the_second(self, world, ending):
        handshake_id = world.invite(ALICE)
        world.days(3)
        if ending == "cancel":
            world.mgmt.cancel_handshake(HandshakeId=handshake_id)
        else:
            getattr(world.alice, f"{ending}_handshake")(HandshakeId=handshake_id)
        world.clock.tick(timedelta(days=30) - timedelta(seconds=1))
        assert world.state(handshake_id, ALICE) != "OPEN"
        assert listed(world, handshake_id) == (True, True)
        world.clock.tick(timedelta(seconds=1))
        assert listed(world, handshake_id) == (False, False)
        for client, call in [(world.alice, "describe"), (world.mgmt, "describe"), (world.alice, "accept"),
                             (world.alice, "decline"), (world.mgmt, "cancel")]:
            assert error_of(getattr(client, f"{call}_handshake"), HandshakeId=handshake_id).code == \
                "HandshakeNotFoundException"

    def test_expired_invitation_is_kept_30_days_after_expiry(self, world):
        handshake_id = world.invite(ALICE)
        world.clock.tick(timedelta(days=45) - timedelta(seconds=1))
        assert world.state(handshake_id) == "EXPIRED"
        assert listed(world, handshake_id) == (True, True)
        world.clock.tick(timedelta(seconds=1))
        assert listed(world, handshake_id) == (False, False)
        assert error_of(world.mgmt.describe_handshake, HandshakeId=handshake_id).code == "HandshakeNotFoundException"

    def test_audit_still_sees_a_purged_handshake(self, world):
        handshake_id = world.invite(ALICE)
        world.alice.decline_handshake(HandshakeId=handshake_id)
        world.days(31)
        assert [e.what for e in world.ledger.history(handshake_id)] == ["Requested", "Declined"]
        assert world.ledger.handshake_as_of(handshake_id, version=2)["State"] == "DECLINED"
