"""EnableAllFeatures and its APPROVE_ALL_FEATURES children: decisions 6-8."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import ALICE, BOB, MANAGEMENT, OUTSIDER
from tests.acceptance.conftest import error_of


def start(world):
    return world.mgmt.enable_all_features()["Handshake"]


def start_with_alice_and_bob(world):
    """Two invited members, then EnableAllFeatures: the parent and its children by member."""
    world.join(ALICE)
    world.join(BOB)
    parent = start(world)
    return parent, children(world, parent["Id"])


def children(world, parent_id):
    pages = world.mgmt.list_handshakes_for_organization(Filter={"ParentHandshakeId": parent_id})
    return {h["Parties"][1]["Id"]: h for h in pages["Handshakes"]}


class TestEnableAllFeatures:
    def test_parent_waits_for_invited_members(self, billing_world):
        world = billing_world
        world.join(ALICE)
        world.join(BOB)
        parent = start(world)
        assert (parent["Action"], parent["State"]) == ("ENABLE_ALL_FEATURES", "REQUESTED")
        assert parent["Parties"] == [{"Type": "ORGANIZATION", "Id": world.org_id}]
        assert parent["Resources"] == [{"Type": "ORGANIZATION", "Value": world.org_id}]
        assert parent["ExpirationTimestamp"] - parent["RequestedTimestamp"] == timedelta(days=90)
        kids = children(world, parent["Id"])
        assert sorted(kids) == [ALICE, BOB]
        for member, child in kids.items():
            assert (child["Action"], child["State"]) == ("APPROVE_ALL_FEATURES", "OPEN")
            assert child["Resources"] == [{"Type": "ACCOUNT", "Value": member},
                                          {"Type": "PARENT_HANDSHAKE", "Value": parent["Id"]}]
            assert child["ExpirationTimestamp"] == parent["ExpirationTimestamp"]

    def test_without_invited_members_parent_is_open_at_once(self, billing_world):
        assert start(billing_world)["State"] == "OPEN"

    def test_members_approve_then_management_finalizes(self, billing_world):
        world = billing_world
        parent, kids = start_with_alice_and_bob(world)
        world.alice.accept_handshake(HandshakeId=kids[ALICE]["Id"])
        assert world.state(parent["Id"]) == "REQUESTED"
        error = error_of(world.mgmt.accept_handshake, HandshakeId=parent["Id"])
        assert error.code == "InvalidHandshakeTransitionException"
        world.bob.accept_handshake(HandshakeId=kids[BOB]["Id"])
        assert world.state(parent["Id"]) == "OPEN"
        assert world.mgmt.accept_handshake(HandshakeId=parent["Id"])["Handshake"]["State"] == "ACCEPTED"
        assert world.mgmt.describe_organization()["Organization"]["FeatureSet"] == "ALL"

    def test_members_find_their_approval_request(self, billing_world):
        world = billing_world
        world.join(ALICE)
        parent = start(world)
        mine = world.alice.list_handshakes_for_account(Filter={"ActionType": "APPROVE_ALL_FEATURES"})["Handshakes"]
        assert [h["Id"] for h in mine] == [children(world, parent["Id"])[ALICE]["Id"]]

    def test_management_lists_the_parent_as_received(self, billing_world):
        parent = start(billing_world)
        received = billing_world.mgmt.list_handshakes_for_account()["Handshakes"]
        assert [h["Id"] for h in received] == [parent["Id"]]

    def test_parent_cannot_be_declined(self, billing_world):
        parent = start(billing_world)
        error = error_of(billing_world.mgmt.decline_handshake, HandshakeId=parent["Id"])
        assert error.code == "InvalidHandshakeTransitionException"

    def test_management_cannot_accept_a_child(self, billing_world):
        world = billing_world
        world.join(ALICE)
        child = children(world, start(world)["Id"])[ALICE]
        assert error_of(world.mgmt.accept_handshake, HandshakeId=child["Id"]).code == "AccessDeniedException"

    def test_declined_child_leaves_parent_requested(self, billing_world):
        world = billing_world
        world.join(ALICE)
        parent = start(world)
        world.alice.decline_handshake(HandshakeId=children(world, parent["Id"])[ALICE]["Id"])
        assert world.state(parent["Id"]) == "REQUESTED"

    def test_cancel_parent_cancels_open_children_in_one_transaction(self, billing_world):
        world = billing_world
        parent, kids = start_with_alice_and_bob(world)
        world.alice.accept_handshake(HandshakeId=kids[ALICE]["Id"])
        before = world.ledger.app.recorder.max_notification_id()
        world.mgmt.cancel_handshake(HandshakeId=parent["Id"])
        assert world.state(parent["Id"]) == "CANCELED"
        assert world.state(kids[BOB]["Id"], BOB) == "CANCELED"
        assert world.state(kids[ALICE]["Id"], ALICE) == "ACCEPTED"
        written = world.ledger.app.recorder.select_notifications(start=before, limit=100, inclusive_of_start=False)
        assert {n.originator_id for n in written} == {parent["Id"], kids[BOB]["Id"], world.org_id}

    def test_starting_cancels_open_invitations(self, billing_world):
        world = billing_world
        invitation = world.invite(OUTSIDER)
        start(world)
        assert world.state(invitation) == "CANCELED"
        canceled = world.ledger.history(invitation)[-1]
        assert (canceled.what, canceled.actor) == ("Canceled", MANAGEMENT)

    def test_no_invitations_while_pending(self, billing_world):
        start(billing_world)
        error = error_of(billing_world.mgmt.invite_account_to_organization, Target={"Type": "ACCOUNT", "Id": ALICE})
        assert (error.code, error.reason) == (
            "HandshakeConstraintViolationException", "INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES")

    def test_no_invitations_while_parent_open(self, billing_world):
        assert start(billing_world)["State"] == "OPEN"
        error = error_of(billing_world.mgmt.invite_account_to_organization, Target={"Type": "ACCOUNT", "Id": ALICE})
        assert error.reason == "INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES"

    def test_invitations_allowed_again_after_cancel(self, billing_world):
        billing_world.mgmt.cancel_handshake(HandshakeId=start(billing_world)["Id"])
        assert billing_world.state(billing_world.invite(ALICE)) == "OPEN"

    def test_second_request_while_pending(self, billing_world):
        start(billing_world)
        error = error_of(billing_world.mgmt.enable_all_features)
        assert error.reason == "ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION"

    def test_organization_with_all_features(self, world):
        error = error_of(world.mgmt.enable_all_features)
        assert (error.code, error.reason) == (
            "HandshakeConstraintViolationException", "ORGANIZATION_ALREADY_HAS_ALL_FEATURES")

    def test_member_cannot_start(self, billing_world):
        billing_world.join(ALICE)
        assert error_of(billing_world.alice.enable_all_features).code == "AccessDeniedException"

    def test_request_expires_after_90_days_with_its_children(self, billing_world):
        world = billing_world
        world.join(ALICE)
        parent = start(world)
        child = children(world, parent["Id"])[ALICE]
        world.days(90)
        assert world.state(parent["Id"]) == "EXPIRED"
        assert world.state(child["Id"], ALICE) == "EXPIRED"
        assert start(world)["State"] == "REQUESTED"

    def test_member_leaving_is_no_longer_awaited(self, billing_world):
        world = billing_world
        parent, kids = start_with_alice_and_bob(world)
        world.alice.accept_handshake(HandshakeId=kids[ALICE]["Id"])
        world.mgmt.remove_account_from_organization(AccountId=BOB)
        assert world.state(kids[BOB]["Id"], BOB) == "CANCELED"
        assert world.state(parent["Id"]) == "OPEN"


class TestAnApprovalThatWillNeverCome:
    def test_a_canceled_approval_says_how_to_go_on_and_removing_the_member_does(self, billing_world):
        parent, by_member = start_with_alice_and_bob(billing_world)
        billing_world.mgmt.cancel_handshake(HandshakeId=by_member[ALICE]["Id"])
        billing_world.bob.accept_handshake(HandshakeId=by_member[BOB]["Id"])
        error = error_of(billing_world.mgmt.accept_handshake, HandshakeId=parent["Id"])
        assert error.code == "InvalidHandshakeTransitionException"
        assert by_member[ALICE]["Id"] in error.message and "remove that member account" in error.message
        billing_world.mgmt.remove_account_from_organization(AccountId=ALICE)
        assert billing_world.state(parent["Id"]) == "OPEN"
        billing_world.mgmt.accept_handshake(HandshakeId=parent["Id"])
        assert billing_world.mgmt.describe_organization()["Organization"]["FeatureSet"] == "ALL"
