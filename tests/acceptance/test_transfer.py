"""Direct transfers between organizations (decision 12, AWS since December 2025)."""

from __future__ import annotations

from tests.conftest import ALICE, BOB, MANAGEMENT, OUTSIDER
from tests.acceptance.conftest import World, error_of


def member_ids(client) -> list[str]:
    return [account["Id"] for page in client.get_paginator("list_accounts").paginate() for account in page["Accounts"]]


def second_organization(world: World) -> str:
    """OUTSIDER manages a second organization."""
    return world.outsider.create_organization(FeatureSet="ALL")["Organization"]["Id"]


def invite_from(world: World, sender, account_id: str) -> str:
    return sender.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": account_id})["Handshake"]["Id"]


class TestDirectTransfer:
    def test_member_of_another_organization_moves_in_one_step(self, world):
        """The issue's example: M in A; B invites M; M accepts: ACCEPTED, in B's accounts, gone from A's."""
        world.join(ALICE)
        other = second_organization(world)
        answer = world.alice.accept_handshake(HandshakeId=invite_from(world, world.outsider, ALICE))
        assert answer["Handshake"]["State"] == "ACCEPTED"
        assert member_ids(world.outsider) == [ALICE, OUTSIDER]
        assert member_ids(world.mgmt) == [MANAGEMENT]
        assert world.alice.describe_organization()["Organization"]["Id"] == other

    def test_old_organization_records_a_departure_and_new_one_a_joining(self, world):
        world.join(ALICE)
        other = second_organization(world)
        world.alice.accept_handshake(HandshakeId=invite_from(world, world.outsider, ALICE))
        left = world.stored_events(world.org_id)[-1]
        joined = world.stored_events(other)[-1]
        assert (type(left).__name__, left.account_id, left.removed) == ("MemberLeft", ALICE, False)
        assert (type(joined).__name__, joined.account_id) == ("MemberJoined", ALICE)
        assert left.request_id == joined.request_id  # one command, one transaction
        assert world.alice.describe_organization()["Organization"]["Id"] == other
        assert world.mgmt.describe_organization()["Organization"]["Id"] == world.org_id

    def test_joined_method_is_invited_in_the_new_organization(self, world):
        world.join(ALICE)
        second_organization(world)
        world.alice.accept_handshake(HandshakeId=invite_from(world, world.outsider, ALICE))
        assert world.outsider.describe_account(AccountId=ALICE)["Account"]["JoinedMethod"] == "INVITED"
        assert error_of(world.mgmt.describe_account, AccountId=ALICE).code == "AccountNotFoundException"

    def test_approval_awaited_by_the_old_organization_ends_as_on_removal(self):
        from tests.acceptance.conftest import make_world

        for world in make_world("CONSOLIDATED_BILLING"):
            world.join(ALICE)
            world.join(BOB)
            parent = world.mgmt.enable_all_features()["Handshake"]
            children = world.mgmt.list_handshakes_for_organization(Filter={"ParentHandshakeId": parent["Id"]})
            alices = next(h["Id"] for h in children["Handshakes"] if h["Parties"][1]["Id"] == ALICE)
            second_organization(world)
            world.alice.accept_handshake(HandshakeId=invite_from(world, world.outsider, ALICE))
            assert world.state(alices) == "CANCELED"
            bobs = next(h["Id"] for h in children["Handshakes"] if h["Parties"][1]["Id"] == BOB)
            world.bob.accept_handshake(HandshakeId=bobs)
            assert world.state(parent["Id"]) == "OPEN"  # no longer waits for ALICE

    def test_management_account_of_an_organization_cannot_move(self, world):
        second_organization(world)
        handshake_id = invite_from(world, world.mgmt, OUTSIDER)
        error = error_of(world.outsider.accept_handshake, HandshakeId=handshake_id)
        assert error.code == "MasterCannotLeaveOrganizationException"
        assert world.state(handshake_id, OUTSIDER) == "OPEN"
        assert member_ids(world.outsider) == [OUTSIDER]

    def test_member_of_the_inviting_organization_is_already_in_it(self, world):
        first = world.invite(ALICE)
        world.outsider.create_organization()
        world.alice.accept_handshake(HandshakeId=invite_from(world, world.outsider, ALICE))
        world.alice.accept_handshake(HandshakeId=first)  # moves back: a transfer again
        second = invite_from(world, world.outsider, ALICE)
        world.alice.accept_handshake(HandshakeId=second)
        assert member_ids(world.outsider) == [ALICE, OUTSIDER]

    def test_refused_transfer_records_nothing(self, world):
        second_organization(world)
        handshake_id = invite_from(world, world.mgmt, OUTSIDER)
        before = world.ledger.app.recorder.max_notification_id()
        error_of(world.outsider.accept_handshake, HandshakeId=handshake_id)
        assert world.ledger.app.recorder.max_notification_id() == before
