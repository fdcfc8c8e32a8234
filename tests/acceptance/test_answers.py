"""AcceptHandshake, DeclineHandshake, CancelHandshake, DescribeHandshake: decisions 9-12."""

from __future__ import annotations

import threading

import pytest
from eventsourcing.application import Application

from tests.conftest import ALICE, MANAGEMENT
from tests.acceptance.conftest import error_of

TERMINAL_MOVES = {
    # (state reached first, then the move attempted) -> expected error
    ("ACCEPTED", "accept"): "HandshakeAlreadyInStateException",
    ("DECLINED", "decline"): "HandshakeAlreadyInStateException",
    ("CANCELED", "cancel"): "HandshakeAlreadyInStateException",
    ("ACCEPTED", "decline"): "InvalidHandshakeTransitionException",
    ("ACCEPTED", "cancel"): "InvalidHandshakeTransitionException",
    ("DECLINED", "accept"): "InvalidHandshakeTransitionException",
    ("DECLINED", "cancel"): "InvalidHandshakeTransitionException",
    ("CANCELED", "accept"): "InvalidHandshakeTransitionException",
    ("CANCELED", "decline"): "InvalidHandshakeTransitionException",
    ("EXPIRED", "accept"): "InvalidHandshakeTransitionException",
    ("EXPIRED", "decline"): "InvalidHandshakeTransitionException",
    ("EXPIRED", "cancel"): "InvalidHandshakeTransitionException",
}


def bring_to(world, handshake_id, state):
    if state == "ACCEPTED":
        world.alice.accept_handshake(HandshakeId=handshake_id)
    elif state == "DECLINED":
        world.alice.decline_handshake(HandshakeId=handshake_id)
    elif state == "CANCELED":
        world.mgmt.cancel_handshake(HandshakeId=handshake_id)
    else:
        world.days(15)


def attempt(world, handshake_id, move):
    client = world.mgmt if move == "cancel" else world.alice
    return error_of(getattr(client, f"{move}_handshake"), HandshakeId=handshake_id)


class TestAcceptHandshake:
    def test_invitee_accepts_and_joins(self, world):
        handshake_id = world.invite(ALICE)
        assert world.alice.accept_handshake(HandshakeId=handshake_id)["Handshake"]["State"] == "ACCEPTED"
        account = world.mgmt.describe_account(AccountId=ALICE)["Account"]
        assert account["JoinedMethod"] == "INVITED"
        assert account["JoinedTimestamp"] == world.ledger.history(handshake_id)[-1].timestamp
        assert world.alice.describe_organization()["Organization"]["Id"] == world.org_id

    def test_accept_records_actor_and_request_id(self, world):
        handshake_id = world.invite(ALICE)
        answer = world.alice.accept_handshake(HandshakeId=handshake_id)
        last = world.ledger.history(handshake_id)[-1]
        assert (last.what, last.actor, last.request_id) == ("Accepted", ALICE, answer["ResponseMetadata"]["RequestId"])

    def test_sender_cannot_accept(self, world):
        assert attempt_as(world.mgmt.accept_handshake, world.invite(ALICE)) == "AccessDeniedException"

    def test_member_of_another_organization_moves(self, world):
        world.outsider.create_organization()
        other_invite = world.outsider.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})
        world.alice.accept_handshake(HandshakeId=world.invite(ALICE))
        world.alice.accept_handshake(HandshakeId=other_invite["Handshake"]["Id"])
        assert world.state(other_invite["Handshake"]["Id"], ALICE) == "ACCEPTED"

    def test_accepted_tags_reach_the_member(self, world):
        tags = [{"Key": "team", "Value": "blue"}]
        world.alice.accept_handshake(HandshakeId=world.invite(ALICE, Tags=tags))
        organization = world.ledger.app.repository.get(world.org_id)
        assert organization.members[ALICE]["tags"] == tags


class TestDeclineHandshake:
    def test_invitee_declines(self, world):
        handshake_id = world.invite(ALICE)
        assert world.alice.decline_handshake(HandshakeId=handshake_id)["Handshake"]["State"] == "DECLINED"
        assert world.state(handshake_id) == "DECLINED"
        assert "222222222222" not in [a["Id"] for a in world.mgmt.list_accounts()["Accounts"]]

    def test_sender_cannot_decline(self, world):
        assert attempt_as(world.mgmt.decline_handshake, world.invite(ALICE)) == "AccessDeniedException"


class TestCancelHandshake:
    def test_sender_cancels(self, world):
        handshake_id = world.invite(ALICE)
        assert world.mgmt.cancel_handshake(HandshakeId=handshake_id)["Handshake"]["State"] == "CANCELED"
        assert world.state(handshake_id, ALICE) == "CANCELED"

    def test_recipient_cannot_cancel(self, world):
        assert attempt_as(world.alice.cancel_handshake, world.invite(ALICE)) == "AccessDeniedException"


class TestTerminalStates:
    @pytest.mark.parametrize(("reached", "move"), sorted(TERMINAL_MOVES))
    def test_move_out_of_terminal_state(self, world, reached, move):
        handshake_id = world.invite(ALICE)
        bring_to(world, handshake_id, reached)
        before = world.ledger.app.recorder.max_notification_id()
        assert attempt(world, handshake_id, move).code == TERMINAL_MOVES[(reached, move)]
        assert world.ledger.app.recorder.max_notification_id() == before


class TestVisibilityAndCheckOrder:
    @pytest.mark.parametrize("operation", ["accept", "decline", "cancel", "describe"])
    def test_unknown_handshake_is_not_found(self, world, operation):
        client = world.mgmt if operation == "cancel" else world.alice
        error = error_of(getattr(client, f"{operation}_handshake"), HandshakeId="h-0000000000")
        assert error.code == "HandshakeNotFoundException"

    @pytest.mark.parametrize("operation", ["accept", "decline", "cancel", "describe"])
    def test_third_party_gets_not_found(self, world, operation):
        handshake_id = world.invite(ALICE)
        error = error_of(getattr(world.bob, f"{operation}_handshake"), HandshakeId=handshake_id)
        assert error.code == "HandshakeNotFoundException"

    def test_malformed_id_is_invalid_input_before_lookup(self, world):
        error = error_of(world.alice.accept_handshake, HandshakeId="not-a-handshake")
        assert (error.code, error.reason) == ("InvalidInputException", "INVALID_PATTERN")

    def test_visibility_before_side(self, world):
        """A stranger learns nothing, not even that the handshake can't be accepted by them."""
        handshake_id = world.invite(ALICE)
        world.alice.decline_handshake(HandshakeId=handshake_id)
        assert attempt_as(world.bob.cancel_handshake, handshake_id) == "HandshakeNotFoundException"

    def test_side_before_state(self, world):
        handshake_id = world.invite(ALICE)
        world.alice.decline_handshake(HandshakeId=handshake_id)
        assert attempt_as(world.alice.cancel_handshake, handshake_id) == "AccessDeniedException"

    def test_state_before_business_constraints(self, world):
        handshake_id = world.invite(ALICE)
        world.alice.accept_handshake(HandshakeId=handshake_id)
        assert attempt_as(world.alice.accept_handshake, handshake_id) == "HandshakeAlreadyInStateException"

    def test_both_parties_can_describe(self, world):
        handshake_id = world.invite(ALICE)
        assert world.state(handshake_id, MANAGEMENT) == world.state(handshake_id, ALICE) == "OPEN"


class TestOptimisticConcurrency:
    def test_conflict_is_retried_once(self, world):
        """A competing writer gets in between load and save once: the retry sees its result."""
        handshake_id = world.invite(ALICE)
        app = world.ledger.app
        real_commit, interfered = app.runner._commit, []

        def competitor() -> None:  # another writer: its own thread, outside this command
            handshake = app.repository.get(handshake_id)
            handshake.cancel(actor=MANAGEMENT, request_id=None, timestamp=world.ledger.now())
            Application.save(app, handshake, app.repository.get(world.org_id))

        def commit_after_competitor(batch):
            if not interfered:
                interfered.append(True)
                elsewhere(competitor)
            return real_commit(batch)

        app.runner._commit = commit_after_competitor
        try:
            error = error_of(world.alice.decline_handshake, HandshakeId=handshake_id)
        finally:
            del app.runner._commit
        assert error.code == "InvalidHandshakeTransitionException"
        assert [(e.what, e.refused) for e in world.ledger.history(handshake_id)] == [
        ("Requested", False), ("Canceled", False), ("DeclineHandshake", True)]

    def test_conflict_twice_is_concurrent_modification(self, world):
        handshake_id = world.invite(ALICE)
        app = world.ledger.app
        real_commit = app.runner._commit

        def competitor() -> None:
            organization = app.repository.get(world.org_id)
            organization.close_invitation(handshake_id="h-unrelated00", outcome="CANCELED", actor=MANAGEMENT,
                                          request_id=None, timestamp=world.ledger.now())
            Application.save(app, organization)

        def always_beaten(batch):
            elsewhere(competitor)
            return real_commit(batch)

        app.runner._commit = always_beaten
        try:
            error = error_of(world.alice.decline_handshake, HandshakeId=handshake_id)
        finally:
            del app.runner._commit
        assert error.code == "ConcurrentModificationException"
        assert world.state(handshake_id) == "OPEN"


def elsewhere(work) -> None:
    """Run ``work`` on a thread of its own: outside the command under way, as another writer is."""
    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


def attempt_as(call, handshake_id):
    return error_of(call, HandshakeId=handshake_id).code
