"""The organization context: Create/Describe/Delete/Leave/Remove, ListAccounts, DescribeAccount."""

from __future__ import annotations

from tests.conftest import ALICE, BOB, MANAGEMENT, OUTSIDER
from tests.acceptance.conftest import error_of


class TestCreateOrganization:
    def test_creator_becomes_management(self, world):
        organization = world.mgmt.describe_organization()["Organization"]
        assert organization["MasterAccountId"] == MANAGEMENT
        assert organization["FeatureSet"] == "ALL"
        assert organization["Arn"] == f"arn:aws:organizations::{MANAGEMENT}:organization/{world.org_id}"

    def test_member_cannot_create_another(self, world):
        assert error_of(world.mgmt.create_organization).code == "AlreadyInOrganizationException"

    def test_management_email_and_name_feed_invitations(self, world):
        world.ledger.register_account(OUTSIDER, "boss@example.com", "Boss")
        world.outsider.create_organization()
        handshake = world.outsider.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": BOB})["Handshake"]
        nested = {r["Type"]: r["Value"] for r in handshake["Resources"][0]["Resources"]}
        assert nested["MASTER_EMAIL"] == "boss@example.com" and nested["MASTER_NAME"] == "Boss"


class TestMembership:
    def test_list_accounts_pages(self, world):
        for account in (ALICE, BOB):
            world.join(account)
        first = world.mgmt.list_accounts(MaxResults=2)
        second = world.mgmt.list_accounts(MaxResults=2, NextToken=first["NextToken"])
        assert [a["Id"] for a in first["Accounts"] + second["Accounts"]] == [MANAGEMENT, ALICE, BOB]
        assert "NextToken" not in second

    def test_member_cannot_list_accounts(self, world):
        world.join(ALICE)
        assert error_of(world.alice.list_accounts).code == "AccessDeniedException"

    def test_describe_unknown_account(self, world):
        assert error_of(world.mgmt.describe_account, AccountId=BOB).code == "AccountNotFoundException"

    def test_member_leaves(self, world):
        world.join(ALICE)
        world.alice.leave_organization()
        assert error_of(world.alice.describe_organization).code == "AWSOrganizationsNotInUseException"
        assert [a["Id"] for a in world.mgmt.list_accounts()["Accounts"]] == [MANAGEMENT]

    def test_management_cannot_leave(self, world):
        assert error_of(world.mgmt.leave_organization).code == "MasterCannotLeaveOrganizationException"

    def test_remove_member_then_reinvite(self, world):
        world.join(ALICE)
        world.mgmt.remove_account_from_organization(AccountId=ALICE)
        world.join(ALICE)
        assert world.mgmt.describe_account(AccountId=ALICE)["Account"]["JoinedMethod"] == "INVITED"

    def test_remove_management_refused(self, world):
        error = error_of(world.mgmt.remove_account_from_organization, AccountId=MANAGEMENT)
        assert error.code == "MasterCannotLeaveOrganizationException"

    def test_delete_needs_an_empty_organization(self, world):
        world.join(ALICE)
        assert error_of(world.mgmt.delete_organization).code == "OrganizationNotEmptyException"
        world.alice.leave_organization()
        invitation = world.invite(BOB)
        world.mgmt.delete_organization()
        assert error_of(world.mgmt.describe_organization).code == "AWSOrganizationsNotInUseException"
        assert [entry.state for entry in world.ledger.history(invitation)] == ["OPEN", "CANCELED"]
        assert error_of(world.bob.describe_handshake, HandshakeId=invitation).code == "HandshakeNotFoundException"
        assert world.mgmt.create_organization()["Organization"]["Id"] != world.org_id

    def test_standalone_account_lists_received_invitations(self, world):
        handshake_id = world.invite(OUTSIDER)
        assert [h["Id"] for h in world.outsider.list_handshakes_for_account()["Handshakes"]] == [handshake_id]

    def test_standalone_account_cannot_list_organization_handshakes(self, world):
        error = error_of(world.outsider.list_handshakes_for_organization)
        assert error.code == "AWSOrganizationsNotInUseException"

    def test_member_cannot_list_organization_handshakes(self, world):
        world.join(ALICE)
        assert error_of(world.alice.list_handshakes_for_organization).code == "AccessDeniedException"


class TestCachedCopies:
    def test_a_copy_changes_independently_of_the_cached_organization(self, world):
        import copy

        world.join(ALICE)
        invitation = world.invite(BOB)
        cached = world.ledger.app.repository.get(world.org_id)
        clone = copy.deepcopy(cached)
        now = world.ledger.now()
        clone.close_invitation(handshake_id=invitation, outcome="CANCELED", actor=MANAGEMENT, request_id=None,
                               timestamp=now)
        clone.release_member(account_id=ALICE, removed=True, actor=MANAGEMENT, request_id=None, timestamp=now)
        assert cached.invitations[invitation]["open"] and ALICE in cached.members
        assert (cached.version, len(cached.pending_events)) == (clone.version - 2, len(clone.pending_events) - 2)

    def test_a_refused_command_leaves_the_organization_as_it_was(self, world):
        world.join(ALICE)
        before = world.ledger.app.repository.get(world.org_id)
        error_of(world.mgmt.delete_organization)  # not empty: refused after loading the organization
        after = world.ledger.app.repository.get(world.org_id)
        assert (after.version, sorted(after.members)) == (before.version, sorted(before.members))
