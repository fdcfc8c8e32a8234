"""InviteAccountToOrganization: decisions 5, 8, 9, 11 and 12."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.service_layer.application import Limits
from tests.conftest import ALICE, BOB, MANAGEMENT, OUTSIDER
from tests.acceptance.conftest import error_of, make_world


class TestInviteAccountToOrganization:
    def test_invitation_is_open_and_expires_in_15_days(self, world):
        handshake = world.mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]
        assert handshake["State"] == "OPEN"
        assert handshake["Action"] == "INVITE"
        assert handshake["ExpirationTimestamp"] - handshake["RequestedTimestamp"] == timedelta(days=15)
        assert handshake["RequestedTimestamp"].tzinfo is not None

    def test_arn_names_management_account_org_and_action(self, world):
        handshake_id = world.invite()
        arn = world.mgmt.describe_handshake(HandshakeId=handshake_id)["Handshake"]["Arn"]
        assert arn == f"arn:aws:organizations::{MANAGEMENT}:handshake/{world.org_id}/invite/{handshake_id}"

    def test_parties_and_resource_tree(self, world):
        handshake = world.mgmt.invite_account_to_organization(
            Target={"Type": "ACCOUNT", "Id": ALICE}, Notes="welcome")["Handshake"]
        assert handshake["Parties"] == [{"Type": "ORGANIZATION", "Id": world.org_id}, {"Type": "ACCOUNT", "Id": ALICE}]
        organization, target, notes = handshake["Resources"]
        assert organization["Type"] == "ORGANIZATION" and organization["Value"] == world.org_id
        assert [r["Type"] for r in organization["Resources"]] == ["MASTER_EMAIL", "MASTER_NAME", "ORGANIZATION_FEATURE_SET"]
        assert organization["Resources"][2]["Value"] == "ALL"
        assert target == {"Type": "ACCOUNT", "Value": ALICE}
        assert notes == {"Type": "NOTES", "Value": "welcome"}

    def test_no_notes_resource_without_notes(self, world):
        handshake = world.mgmt.describe_handshake(HandshakeId=world.invite())["Handshake"]
        assert "NOTES" not in [r["Type"] for r in handshake["Resources"]]

    def test_member_cannot_invite(self, world):
        world.join(ALICE)
        error = error_of(world.alice.invite_account_to_organization, Target={"Type": "ACCOUNT", "Id": BOB})
        assert error.code == "AccessDeniedException"

    def test_standalone_account_cannot_invite(self, world):
        error = error_of(world.outsider.invite_account_to_organization, Target={"Type": "ACCOUNT", "Id": BOB})
        assert error.code == "AWSOrganizationsNotInUseException"

    def test_second_open_invitation_to_same_account_is_duplicate(self, world):
        world.invite(ALICE)
        error = error_of(world.mgmt.invite_account_to_organization, Target={"Type": "ACCOUNT", "Id": ALICE})
        assert error.code == "DuplicateHandshakeException"

    def test_account_and_its_email_are_the_same_target(self, world):
        world.ledger.register_account(ALICE, "alice@example.com", "Alice")
        world.invite(ALICE)
        error = error_of(world.mgmt.invite_account_to_organization, Target={"Type": "EMAIL", "Id": "Alice@Example.com"})
        assert error.code == "DuplicateHandshakeException"

    def test_reinvite_after_decline_is_allowed(self, world):
        world.alice.decline_handshake(HandshakeId=world.invite(ALICE))
        assert world.state(world.invite(ALICE)) == "OPEN"

    def test_reinvite_after_expiry_is_allowed(self, world):
        world.invite(ALICE)
        world.days(15)
        assert world.state(world.invite(ALICE)) == "OPEN"

    def test_inviting_a_member_is_refused(self, world):
        world.join(ALICE)
        error = error_of(world.mgmt.invite_account_to_organization, Target={"Type": "ACCOUNT", "Id": ALICE})
        assert (error.code, error.reason) == ("HandshakeConstraintViolationException", "ALREADY_IN_AN_ORGANIZATION")

    def test_account_in_another_organization_can_be_invited(self, world):
        world.outsider.create_organization()
        assert world.state(world.invite(OUTSIDER)) == "OPEN"

    def test_email_invitation_reaches_registered_account(self, world):
        world.ledger.register_account(BOB, "bob@example.com", "Bob")
        handshake = world.mgmt.invite_account_to_organization(Target={"Type": "EMAIL", "Id": "bob@example.com"})["Handshake"]
        received = world.bob.list_handshakes_for_account()["Handshakes"]
        assert [h["Id"] for h in received] == [handshake["Id"]]
        assert world.bob.accept_handshake(HandshakeId=handshake["Id"])["Handshake"]["State"] == "ACCEPTED"

    def test_email_invitation_to_later_registered_account(self, world):
        handshake_id = world.mgmt.invite_account_to_organization(
            Target={"Type": "EMAIL", "Id": "carol@example.com"})["Handshake"]["Id"]
        error = error_of(world.bob.describe_handshake, HandshakeId=handshake_id)
        assert error.code == "HandshakeNotFoundException"
        world.ledger.register_account(BOB, "carol@example.com", "Carol")
        assert world.state(handshake_id, BOB) == "OPEN"

    def test_tags_over_the_account_limit_are_refused(self, world):
        tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
        error = error_of(world.mgmt.invite_account_to_organization, Target={"Type": "ACCOUNT", "Id": ALICE}, Tags=tags)
        assert (error.code, error.reason) == ("ConstraintViolationException", "MAX_TAG_LIMIT_EXCEEDED")


class TestQuotas:
    def test_tenth_open_invitation_fails_with_no_members(self, world):
        for n in range(9):
            world.invite(f"5000000000{n:02d}")
        error = error_of(world.mgmt.invite_account_to_organization, Target={"Type": "ACCOUNT", "Id": "500000000099"})
        assert (error.code, error.reason) == ("HandshakeConstraintViolationException", "ACCOUNT_NUMBER_LIMIT_EXCEEDED")

    def test_members_count_toward_the_quota(self, world):
        world.join(ALICE)
        world.join(BOB)
        for n in range(7):
            world.invite(f"5000000000{n:02d}")
        error = error_of(world.mgmt.invite_account_to_organization, Target={"Type": "ACCOUNT", "Id": "500000000099"})
        assert error.reason == "ACCOUNT_NUMBER_LIMIT_EXCEEDED"

    @pytest.mark.parametrize("how", ["decline", "cancel", "expire"])
    def test_slot_returns_when_an_invitation_ends(self, world, how):
        ids = [world.invite(f"5000000000{n:02d}") for n in range(9)]
        if how == "decline":
            world.client("500000000000").decline_handshake(HandshakeId=ids[0])
        elif how == "cancel":
            world.mgmt.cancel_handshake(HandshakeId=ids[0])
        else:
            world.days(15)
        assert world.state(world.invite("500000000099")) == "OPEN"

    def test_quota_is_configurable(self):
        for world in make_world(limits=Limits(accounts_per_organization=3)):
            world.invite(ALICE)
            world.invite(BOB)
            error = error_of(world.mgmt.invite_account_to_organization, Target={"Type": "ACCOUNT", "Id": OUTSIDER})
            assert error.reason == "ACCOUNT_NUMBER_LIMIT_EXCEEDED"

    def test_twenty_invitations_in_24_hours_then_refused(self, world):
        for n in range(20):
            world.mgmt.cancel_handshake(HandshakeId=world.invite(f"6000000000{n:02d}"))
            world.clock.tick(60)
        error = error_of(world.mgmt.invite_account_to_organization, Target={"Type": "ACCOUNT", "Id": "600000000099"})
        assert (error.code, error.reason) == ("HandshakeConstraintViolationException", "HANDSHAKE_RATE_LIMIT_EXCEEDED")

    def test_rate_window_rolls(self, world):
        for n in range(20):
            world.mgmt.cancel_handshake(HandshakeId=world.invite(f"6000000000{n:02d}"))
        world.clock.tick(24 * 3600 - 1)
        assert error_of(world.mgmt.invite_account_to_organization,
                        Target={"Type": "ACCOUNT", "Id": ALICE}).reason == "HANDSHAKE_RATE_LIMIT_EXCEEDED"
        world.clock.tick(1)
        assert world.state(world.invite(ALICE)) == "OPEN"

    def test_accepted_invitations_do_not_count_toward_the_daily_quota(self, world):
        """The issue's example: 19 sent and canceled, a 20th sent and accepted, then a 21st is OPEN."""
        for n in range(19):
            world.mgmt.cancel_handshake(HandshakeId=world.invite(f"6000000000{n:02d}"))
        world.alice.accept_handshake(HandshakeId=world.invite(ALICE))
        assert world.state(world.invite(BOB)) == "OPEN"

    def test_an_acceptance_frees_a_place_the_same_day(self, world):
        alices = world.invite(ALICE)
        for n in range(19):
            world.mgmt.cancel_handshake(HandshakeId=world.invite(f"6000000000{n:02d}"))
        assert error_of(world.mgmt.invite_account_to_organization,
                        Target={"Type": "ACCOUNT", "Id": BOB}).reason == "HANDSHAKE_RATE_LIMIT_EXCEEDED"
        world.alice.accept_handshake(HandshakeId=alices)
        assert world.state(world.invite(BOB)) == "OPEN"

    @pytest.mark.parametrize("how", ["decline", "cancel", "expire"])
    def test_unaccepted_invitations_still_count(self, world, how):
        first = world.invite(ALICE)
        if how == "decline":
            world.alice.decline_handshake(HandshakeId=first)
        elif how == "cancel":
            world.mgmt.cancel_handshake(HandshakeId=first)
        else:
            world.clock.tick(15 * 86400)  # expired after 15 days: outside the window by then, so
            first = None                 # this case checks the window alone
        for n in range(19 if first else 20):
            world.mgmt.cancel_handshake(HandshakeId=world.invite(f"6000000000{n:02d}"))
        assert error_of(world.mgmt.invite_account_to_organization,
                        Target={"Type": "ACCOUNT", "Id": BOB}).reason == "HANDSHAKE_RATE_LIMIT_EXCEEDED"

    def test_refused_invitation_records_nothing(self, world):
        world.invite(ALICE)
        before = world.ledger.app.recorder.max_notification_id()
        error_of(world.mgmt.invite_account_to_organization, Target={"Type": "ACCOUNT", "Id": ALICE})
        assert world.ledger.app.recorder.max_notification_id() == before
