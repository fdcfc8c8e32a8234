"""Billing transfers through in-process boto3 (decisions 20-28): one class per operation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ledger.service_layer.application import Limits
from tests.acceptance.conftest import error_of, make_world
from tests.acceptance.transfer_world import (APRIL, MAY, accepted, describe, epoch, inbound, invite,
                                             invited_organization, outbound, transfer_id)
from tests.conftest import ALICE, BOB, MANAGEMENT, OUTSIDER


def refused(function, *args, **kwargs):
    """The AWS error ``function(*args, **kwargs)`` raised through boto3."""
    return error_of(lambda: function(*args, **kwargs))


@pytest.fixture
def two(world):
    """MANAGEMENT's organization (the inviter) and OUTSIDER's (the invitee)."""
    invited_organization(world)
    return world


class TestInvite:
    def test_the_handshake_of_decision_20(self, two):
        handshake = invite(two, Notes="transfer notes")
        rt = transfer_id(handshake)
        assert handshake["Action"] == "TRANSFER_RESPONSIBILITY"
        assert handshake["State"] == "REQUESTED"
        assert handshake["ExpirationTimestamp"] == APRIL - timedelta(hours=24)
        assert handshake["Arn"] == f"arn:aws:organizations::{MANAGEMENT}:handshake/{two.org_id}/" \
                                   f"transfer_responsibility/{handshake['Id']}"
        assert handshake["Parties"] == [{"Id": two.org_id, "Type": "ORGANIZATION"},
                                        {"Id": OUTSIDER, "Type": "ACCOUNT"}]
        assert handshake["Resources"] == [
            {"Type": "RESPONSIBILITY_TRANSFER", "Value": rt, "Resources": [
                {"Type": "TRANSFER_START_TIMESTAMP", "Value": str(epoch(APRIL))},
                {"Type": "TRANSFER_TYPE", "Value": "BILLING"}]},
            {"Type": "ORGANIZATION", "Value": two.org_id, "Resources": [
                {"Type": "MANAGEMENT_EMAIL", "Value": f"account-{MANAGEMENT}@example.com"},
                {"Type": "MANAGEMENT_NAME", "Value": f"Account {MANAGEMENT}"},
                {"Type": "MANAGEMENT_ACCOUNT", "Value": MANAGEMENT}]},
            {"Type": "ACCOUNT", "Value": OUTSIDER},
            {"Type": "NOTES", "Value": "transfer notes"},
        ]
        assert rt.startswith("rt-") and 8 <= len(rt) - 3 <= 32 and rt[3:].isalnum() and rt == rt.lower()

    def test_no_notes_no_notes_resource(self, two):
        assert [r["Type"] for r in invite(two)["Resources"]] == ["RESPONSIBILITY_TRANSFER", "ORGANIZATION", "ACCOUNT"]

    @pytest.mark.parametrize("params, reason", [
        ({"Type": "NOPE"}, "INVALID_ENUM"),
        ({"SourceName": "x" * 200}, "MAX_LENGTH_EXCEEDED"),
        ({"Target": {"Type": "ORGANIZATION", "Id": "o-abcdefghij"}}, "INVALID_PARTY_TYPE_TARGET"),
        ({"Target": {"Type": "ACCOUNT", "Id": "12"}}, "INVALID_PATTERN"),
        ({"Target": {"Type": "EMAIL", "Id": "not-an-address"}}, "INVALID_EMAIL_ADDRESS_TARGET"),
        ({"Notes": "n" * 1025}, "MAX_LENGTH_EXCEEDED"),
        ({"SourceName": "caf\u00e9"}, "INVALID_PATTERN"),
    ])
    def test_every_member_is_validated_by_the_server(self, two, params, reason):
        request = {"Type": "BILLING", "Target": {"Type": "ACCOUNT", "Id": OUTSIDER}, "StartTimestamp": APRIL,
                   "SourceName": "n", **params}
        error = error_of(two.mgmt.invite_organization_to_transfer_responsibility, **request)
        assert (error.code, error.reason) == ("InvalidInputException", reason)
        assert inbound(two.mgmt) == []

    @pytest.mark.parametrize("start, reason", [
        (datetime(2026, 4, 2, tzinfo=timezone.utc), "START_DATE_NOT_BEGINNING_OF_MONTH"),
        (datetime(2026, 4, 2, 5, tzinfo=timezone.utc), "START_DATE_NOT_BEGINNING_OF_MONTH"),  # 1 before 2
        (datetime(2026, 4, 1, 0, 0, 1, tzinfo=timezone.utc), "START_DATE_NOT_BEGINNING_OF_DAY"),
        (datetime(2026, 3, 1, tzinfo=timezone.utc), "START_DATE_TOO_EARLY"),
        (datetime(2026, 6, 1, tzinfo=timezone.utc), "START_DATE_TOO_LATE"),
    ])
    def test_the_month_rules_of_decision_23(self, two, start, reason):
        error = refused(invite, two, start=start)
        assert (error.code, error.reason) == ("InvalidInputException", reason)

    def test_an_invitation_born_expired_is_refused(self, two):
        two.clock.move_to("2026-03-31T00:00:00Z")  # start - 24 h <= now
        error = refused(invite, two, start=APRIL)
        assert (error.code, error.reason) == ("InvalidInputException", "INVALID_START_DATE")
        two.clock.move_to("2026-03-30T23:59:59Z")
        assert invite(two, start=APRIL)["State"] == "REQUESTED"

    def test_only_a_management_account_invites(self, two):
        two.join(ALICE)
        assert refused(invite, two, two.alice).code == "AccessDeniedException"
        assert refused(invite, two, two.bob).code == "AWSOrganizationsNotInUseException"

    def test_the_inviter_needs_all_features(self):
        for world in make_world("CONSOLIDATED_BILLING"):
            invited_organization(world)
            error = refused(invite, world)
            assert (error.code, error.reason) == ("ConstraintViolationException", "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE")

    def test_yourself_or_your_own_member(self, two):
        two.join(ALICE)
        for target in (MANAGEMENT, ALICE):
            error = refused(invite, two, target=target)
            assert (error.code, error.reason) == ("HandshakeConstraintViolationException",
                                                  "SOURCE_AND_TARGET_CANNOT_MATCH")
        error = refused(invite, two, target=f"account-{MANAGEMENT}@example.com", kind="EMAIL")
        assert error.reason == "SOURCE_AND_TARGET_CANNOT_MATCH"

    def test_a_known_member_or_standalone_account_is_refused_an_unknown_one_waits(self, two):
        two.ledger.register_account(BOB, "bob@example.com")  # known, in no organization
        two.client(OUTSIDER).invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})
        for target in (BOB,):
            error = refused(invite, two, target=target)
            assert (error.code, error.reason) == ("HandshakeConstraintViolationException",
                                                  "TARGET_ACCOUNT_VALIDATION_FAILURE")
        assert invite(two, target="555555555555")["State"] == "REQUESTED"
        assert invite(two, target="nobody@example.org", kind="EMAIL")["State"] == "REQUESTED"

    def test_inbound_quota_counts_live_transfers_and_returns_the_slot(self):
        for world in make_world(limits=Limits(inbound_transfers=1)):
            invited_organization(world)
            first = invite(world)
            error = refused(invite, world, target="555555555555")
            assert (error.code, error.reason) == ("ConstraintViolationException",
                                                  "RESPONSIBILITY_TRANSFER_MAX_INBOUND_QUOTA_VIOLATION")
            world.mgmt.cancel_handshake(HandshakeId=first["Id"])
            assert invite(world, target="555555555555")["State"] == "REQUESTED"

    def test_a_second_requested_invitation_to_the_same_target_is_a_duplicate(self, two):
        invite(two)
        assert refused(invite, two).code == "DuplicateHandshakeException"
        assert refused(invite, two, target=f"account-{OUTSIDER}@example.com", kind="EMAIL").code == \
            "DuplicateHandshakeException"

    def test_transfer_invitations_dont_count_toward_the_daily_invites(self):
        for world in make_world(limits=Limits(invitations_per_day=1, inbound_transfers=3)):
            invited_organization(world)
            invite(world)
            invite(world, target="555555555555")
            world.invite(ALICE)  # the one INVITE of the day still goes

    def test_a_billing_condition_of_the_inviter(self):
        for world in make_world(limits=Limits(billing_conditions=((MANAGEMENT, "PAST_DUE_INVOICE"),))):
            invited_organization(world)
            error = refused(invite, world)
            assert (error.code, error.reason) == ("HandshakeConstraintViolationException", "PAST_DUE_INVOICE")
            assert error.message == "Your organization has an invoice that is past due."


class TestDescribe:
    def test_each_side_sees_its_own_arn_and_both_emails(self, two):
        rt = transfer_id(invite(two))
        mine, theirs = describe(two.mgmt, rt), describe(two.outsider, rt)
        outsider_org = two.outsider.describe_organization()["Organization"]["Id"]
        assert mine["Arn"] == f"arn:aws:organizations::{MANAGEMENT}:transfer/{two.org_id}/billing/inbound/{rt}"
        assert theirs["Arn"] == f"arn:aws:organizations::{OUTSIDER}:transfer/{outsider_org}/billing/outbound/{rt}"
        assert {k: v for k, v in mine.items() if k != "Arn"} == {k: v for k, v in theirs.items() if k != "Arn"}
        assert mine["Source"] == {"ManagementAccountId": OUTSIDER,
                                  "ManagementAccountEmail": f"account-{OUTSIDER}@example.com"}
        assert mine["Target"] == {"ManagementAccountId": MANAGEMENT,
                                  "ManagementAccountEmail": f"account-{MANAGEMENT}@example.com"}
        assert mine["Status"] == "REQUESTED" and mine["Name"] == "transfer name"
        assert mine["ActiveHandshakeId"] and "EndTimestamp" not in mine

    def test_neither_side_is_not_found_and_a_malformed_id_is_invalid(self, two):
        rt = transfer_id(invite(two))
        two.client(BOB).create_organization()
        assert error_of(two.bob.describe_responsibility_transfer, Id=rt).code == \
            "ResponsibilityTransferNotFoundException"
        error = error_of(two.mgmt.describe_responsibility_transfer, Id="rt-1")
        assert (error.code, error.reason) == ("InvalidInputException", "INVALID_PATTERN")

    def test_an_email_invitation_shows_the_address_until_answered(self, two):
        two.ledger.register_account(OUTSIDER, "juan@example.com")
        handshake = invite(two, target="juan@example.com", kind="EMAIL")
        rt = transfer_id(handshake)
        assert describe(two.mgmt, rt)["Source"] == {"ManagementAccountEmail": "juan@example.com"}
        assert [t["Id"] for t in outbound(two.outsider)] == [rt]
        two.outsider.accept_handshake(HandshakeId=handshake["Id"])
        assert describe(two.mgmt, rt)["Source"] == {"ManagementAccountId": OUTSIDER,
                                                    "ManagementAccountEmail": "juan@example.com"}
        assert "ActiveHandshakeId" not in describe(two.mgmt, rt)

    def test_expired_then_gone_after_30_days(self, two):
        rt = transfer_id(invite(two))
        two.clock.move_to("2026-03-31T00:00:00Z")
        assert describe(two.mgmt, rt)["Status"] == "EXPIRED"
        two.clock.move_to("2026-04-30T00:00:00Z")
        assert error_of(two.mgmt.describe_responsibility_transfer, Id=rt).code == \
            "ResponsibilityTransferNotFoundException"
        assert inbound(two.mgmt) == []


class TestLists:
    def test_inbound_for_the_inviter_outbound_for_the_invitee_ids_only(self, two):
        rt = transfer_id(invite(two))
        (mine,) = inbound(two.mgmt)
        (theirs,) = outbound(two.outsider)
        assert mine["Id"] == theirs["Id"] == rt
        assert mine["Source"] == {"ManagementAccountId": OUTSIDER}
        assert mine["Target"] == {"ManagementAccountId": MANAGEMENT}
        assert "/billing/inbound/" in mine["Arn"] and "/billing/outbound/" in theirs["Arn"]
        assert outbound(two.mgmt) == [] and inbound(two.outsider) == []

    def test_newest_first_paged_by_next_token(self):
        for world in make_world(limits=Limits(inbound_transfers=10)):
            ids = []
            for n in range(5):
                ids.append(transfer_id(invite(world, target=f"55555555555{n}")))
                world.clock.tick(1)
            seen, token = [], None
            while True:
                page = world.mgmt.list_inbound_responsibility_transfers(
                    Type="BILLING", MaxResults=2, **({"NextToken": token} if token else {}))
                seen += [t["Id"] for t in page["ResponsibilityTransfers"]]
                token = page.get("NextToken")
                if not token:
                    break
            assert seen == ids[::-1]

    @pytest.mark.parametrize("params, reason", [
        ({"MaxResults": 21}, "MAX_VALUE_EXCEEDED"),
        ({"Type": "NOPE"}, "INVALID_ENUM"),
        ({"NextToken": "forged"}, "INVALID_NEXT_TOKEN"),
    ])
    def test_bad_input(self, two, params, reason):
        for method in (two.mgmt.list_inbound_responsibility_transfers, two.mgmt.list_outbound_responsibility_transfers):
            error = error_of(method, **{"Type": "BILLING", **params})
            assert (error.code, error.reason) == ("InvalidInputException", reason)

    def test_inbound_id_filter(self, two):
        rt = transfer_id(invite(two))
        assert [t["Id"] for t in inbound(two.mgmt, Id=rt)] == [rt]
        assert error_of(two.mgmt.list_inbound_responsibility_transfers, Type="BILLING",
                        Id="rt-0000000000").code == "ResponsibilityTransferNotFoundException"
        error = error_of(two.mgmt.list_inbound_responsibility_transfers, Type="BILLING", Id="rt-1")
        assert error.reason == "INVALID_PATTERN"

    def test_members_and_accounts_outside_organizations(self, two):
        two.join(ALICE)
        assert error_of(two.alice.list_inbound_responsibility_transfers, Type="BILLING").code == \
            "AccessDeniedException"
        assert error_of(two.bob.list_outbound_responsibility_transfers, Type="BILLING").code == \
            "AWSOrganizationsNotInUseException"

    def test_transfer_handshakes_in_the_handshake_lists(self, two):
        handshake = invite(two)
        two.invite(ALICE)
        only = {"ActionType": "TRANSFER_RESPONSIBILITY"}
        assert [h["Id"] for h in two.mgmt.list_handshakes_for_organization(Filter=only)["Handshakes"]] == \
            [handshake["Id"]]
        assert [h["Id"] for h in two.outsider.list_handshakes_for_account(Filter=only)["Handshakes"]] == \
            [handshake["Id"]]
        assert two.outsider.describe_handshake(HandshakeId=handshake["Id"])["Handshake"]["State"] == "REQUESTED"
