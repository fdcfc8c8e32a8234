"""Billing transfers after the invitation (decisions 21-24, 28): the handshake's answers,
Terminate, Update, DeleteOrganization and the service events, through in-process boto3."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ledger.service_layer.application import Limits
from tests.acceptance.conftest import error_of, make_world
from tests.acceptance.transfer_world import (APRIL, MAY, accepted, describe, inbound, invite, invited_organization,
                                             outbound, transfer_id)
from tests.conftest import ALICE, BOB, MANAGEMENT, OUTSIDER

END_OF_MARCH = datetime(2026, 3, 31, 23, 59, 59, 999000, tzinfo=timezone.utc)
END_OF_APRIL = datetime(2026, 4, 30, 23, 59, 59, tzinfo=timezone.utc)


def refused(function, *args, **kwargs):
    return error_of(lambda: function(*args, **kwargs))


@pytest.fixture
def two(world):
    invited_organization(world)
    return world


def service_events(world, account_id: str) -> list[tuple[str, dict]]:
    import json

    events = world.ledger.client(account_id, "cloudtrail").lookup_events()["Events"]
    found = []
    for event in events:
        record = json.loads(event["CloudTrailEvent"])
        if record["eventType"] == "AwsServiceEvent" and event["EventName"].startswith("ResponsibilityTransfer"):
            found.append((event["EventName"], record["serviceEventDetails"]))
    return found


class TestAcceptHandshake:
    def test_accepting_makes_the_transfer_accepted_on_both_sides(self, two):
        handshake = invite(two)
        answer = two.outsider.accept_handshake(HandshakeId=handshake["Id"])["Handshake"]
        rt = transfer_id(handshake)
        assert answer["State"] == "ACCEPTED"
        assert describe(two.mgmt, rt)["Status"] == describe(two.outsider, rt)["Status"] == "ACCEPTED"
        assert "ActiveHandshakeId" not in describe(two.mgmt, rt)

    def test_only_the_invitee_and_only_a_management_account(self, two):
        two.join(ALICE)
        handshake = invite(two)
        assert refused(two.mgmt.accept_handshake, HandshakeId=handshake["Id"]).code == "AccessDeniedException"
        other = invite(two, two.outsider, target="later@example.com", kind="EMAIL")
        two.ledger.register_account(ALICE, "later@example.com")  # the address now reaches a member (decision 19)
        assert refused(two.alice.accept_handshake, HandshakeId=other["Id"]).code == "AccessDeniedException"
        assert refused(two.alice.decline_handshake, HandshakeId=other["Id"]).code == "AccessDeniedException"

    def test_the_invitee_needs_all_features(self, world):
        invited_organization(world, feature_set="CONSOLIDATED_BILLING")
        handshake = invite(world)
        error = refused(world.outsider.accept_handshake, HandshakeId=handshake["Id"])
        assert (error.code, error.reason) == ("ConstraintViolationException", "ORGANIZATION_NOT_IN_ALL_FEATURES_MODE")
        assert describe(world.mgmt, transfer_id(handshake))["Status"] == "REQUESTED"

    def test_expired_handshake_can_not_be_accepted(self, two):
        handshake = invite(two)
        two.clock.move_to("2026-03-31T00:00:00Z")
        assert refused(two.outsider.accept_handshake, HandshakeId=handshake["Id"]).code == \
            "InvalidHandshakeTransitionException"

    def test_outbound_quota_same_inviter_or_another(self):
        for world in make_world():
            invited_organization(world)
            world.client(BOB).create_organization()
            accepted(world)
            again = invite(world, start=MAY)
            error = refused(world.outsider.accept_handshake, HandshakeId=again["Id"])
            assert (error.code, error.reason) == ("HandshakeConstraintViolationException",
                                                  "RESPONSIBILITY_TRANSFER_ALREADY_EXISTS")
            other = invite(world, world.bob)
            error = refused(world.outsider.accept_handshake, HandshakeId=other["Id"])
            assert (error.code, error.reason) == ("ConstraintViolationException",
                                                  "RESPONSIBILITY_TRANSFER_MAX_OUTBOUND_QUOTA_VIOLATION")

    def test_a_chain_is_refused_at_length_1_allowed_at_2_and_a_cycle_never(self):
        for chain_length in (1, 2):
            for world in make_world(limits=Limits(transfer_chain_length=chain_length)):
                invited_organization(world)
                world.client(BOB).create_organization()
                accepted(world)  # MANAGEMENT pays for OUTSIDER
                upper = invite(world, world.bob, target=MANAGEMENT)  # BOB would pay for MANAGEMENT (and OUTSIDER)
                if chain_length == 1:
                    error = refused(world.mgmt.accept_handshake, HandshakeId=upper["Id"])
                    assert error.reason == "RESPONSIBILITY_TRANSFER_MAX_LEVEL_VIOLATION"
                    continue
                world.mgmt.accept_handshake(HandshakeId=upper["Id"])
                cycle = invite(world, world.outsider, target=BOB)  # OUTSIDER would pay for BOB: a cycle
                error = refused(world.bob.accept_handshake, HandshakeId=cycle["Id"])
                assert error.reason == "RESPONSIBILITY_TRANSFER_MAX_LEVEL_VIOLATION"
                # the upstream payer records the service events of the chain below it
                assert [name for name, _ in service_events(world, BOB)] == ["ResponsibilityTransferAccepted"]

    def test_billing_condition_of_either_side_at_accept(self):
        for world in make_world(limits=Limits(billing_conditions=((OUTSIDER, "UNSUPPORTED_PRICING"),))):
            invited_organization(world)
            handshake = invite(world)
            error = refused(world.outsider.accept_handshake, HandshakeId=handshake["Id"])
            assert (error.code, error.reason) == ("ConstraintViolationException", "UNSUPPORTED_PRICING")


class TestDeclineAndCancelHandshake:
    def test_decline_by_the_invitee(self, two):
        handshake = invite(two)
        two.outsider.decline_handshake(HandshakeId=handshake["Id"])
        assert describe(two.mgmt, transfer_id(handshake))["Status"] == "DECLINED"
        two.days(30)
        assert inbound(two.mgmt) == [] and outbound(two.outsider) == []

    def test_cancel_by_the_inviter(self, two):
        handshake = invite(two)
        assert refused(two.outsider.cancel_handshake, HandshakeId=handshake["Id"]).code == "AccessDeniedException"
        two.mgmt.cancel_handshake(HandshakeId=handshake["Id"])
        assert describe(two.outsider, transfer_id(handshake))["Status"] == "CANCELED"


class TestTerminateResponsibilityTransfer:
    def test_either_side_withdraws_at_the_end_of_the_month_by_default(self, two):
        rt = accepted(two)
        answer = two.outsider.terminate_responsibility_transfer(Id=rt)["ResponsibilityTransfer"]
        assert answer["Status"] == "WITHDRAWN" and answer["EndTimestamp"] == END_OF_MARCH
        assert answer["Source"] == {"ManagementAccountId": OUTSIDER}  # ids only
        error = refused(two.mgmt.terminate_responsibility_transfer, Id=rt)
        assert error.code == "ResponsibilityTransferAlreadyInStatusException"

    def test_an_explicit_end_is_kept_as_sent(self, two):
        rt = accepted(two)
        answer = two.mgmt.terminate_responsibility_transfer(Id=rt, EndTimestamp=END_OF_APRIL)
        assert answer["ResponsibilityTransfer"]["EndTimestamp"] == END_OF_APRIL

    @pytest.mark.parametrize("end, reason", [
        (datetime(2026, 4, 29, 23, 59, 59, tzinfo=timezone.utc), "END_DATE_NOT_END_OF_MONTH"),
        (datetime(2026, 4, 30, 23, 59, 58, tzinfo=timezone.utc), "END_DATE_NOT_END_OF_MONTH"),
        (datetime(2026, 2, 28, 23, 59, 59, tzinfo=timezone.utc), "END_DATE_TOO_EARLY"),
        (datetime(2026, 5, 31, 23, 59, 59, tzinfo=timezone.utc), "END_DATE_TOO_LATE"),
    ])
    def test_end_dates(self, two, end, reason):
        rt = accepted(two)
        error = refused(two.mgmt.terminate_responsibility_transfer, Id=rt, EndTimestamp=end)
        assert (error.code, error.reason) == ("InvalidInputException", reason)

    def test_only_an_accepted_transfer(self, two):
        handshake = invite(two)
        error = refused(two.mgmt.terminate_responsibility_transfer, Id=transfer_id(handshake))
        assert error.code == "InvalidResponsibilityTransferTransitionException"

    def test_in_effect_from_start_to_end(self, two):
        rt = accepted(two, start=APRIL)
        two.mgmt.terminate_responsibility_transfer(Id=rt, EndTimestamp=END_OF_APRIL)
        effect = two.ledger.app.repository.get(rt)
        assert not effect.is_in_effect_at(datetime(2026, 3, 31, tzinfo=timezone.utc))
        assert effect.is_in_effect_at(APRIL) and effect.is_in_effect_at(END_OF_APRIL)
        assert not effect.is_in_effect_at(MAY)


class TestUpdateResponsibilityTransfer:
    def test_each_side_renames_its_own(self, two):
        rt = accepted(two)
        two.mgmt.update_responsibility_transfer(Id=rt, Name="our customer")
        assert describe(two.mgmt, rt)["Name"] == "our customer"
        assert describe(two.outsider, rt)["Name"] == "transfer name"
        assert two.outsider.update_responsibility_transfer(Id=rt, Name="our payer")["ResponsibilityTransfer"][
            "Name"] == "our payer"

    def test_not_after_it_ended(self, two):
        handshake = invite(two)
        two.outsider.decline_handshake(HandshakeId=handshake["Id"])
        error = refused(two.mgmt.update_responsibility_transfer, Id=transfer_id(handshake), Name="x")
        assert (error.code, error.reason) == ("ConstraintViolationException",
                                              "TRANSFER_RESPONSIBILITY_UPDATE_NOT_ALLOWED")
        error = refused(two.mgmt.update_responsibility_transfer, Id=transfer_id(handshake), Name="x" * 129)
        assert error.reason == "MAX_LENGTH_EXCEEDED"


class TestDeleteOrganization:
    def test_refused_while_a_transfer_is_in_progress_on_either_side(self, two):
        handshake = invite(two)
        for client in (two.mgmt, two.outsider):
            error = refused(client.delete_organization)
            assert (error.code, error.reason) == ("ConstraintViolationException",
                                                  "ACTIVE_RESPONSIBILITY_TRANSFER_PROCESS")
        two.mgmt.cancel_handshake(HandshakeId=handshake["Id"])
        two.outsider.delete_organization()

    def test_until_a_withdrawn_transfer_has_ended(self, two):
        rt = accepted(two)
        two.mgmt.terminate_responsibility_transfer(Id=rt)
        assert refused(two.outsider.delete_organization).reason == "ACTIVE_RESPONSIBILITY_TRANSFER_PROCESS"
        two.clock.move_to("2026-04-01T00:00:00Z")
        two.outsider.delete_organization()


class TestAudit:
    def test_service_events_in_both_management_accounts_history(self, two):
        rt = accepted(two)
        two.outsider.terminate_responsibility_transfer(Id=rt)
        for account in (MANAGEMENT, OUTSIDER):
            events = service_events(two, account)
            assert sorted(name for name, _ in events) == ["ResponsibilityTransferAccepted",
                                                          "ResponsibilityTransferTerminated"]
            details = dict(events)["ResponsibilityTransferTerminated"]["responsibilityTransfer"]
            assert details == {"id": rt, "type": "BILLING", "status": "WITHDRAWN",
                               "source": {"managementAccountId": OUTSIDER},
                               "target": {"managementAccountId": MANAGEMENT},
                               "startTimestamp": "2026-04-01T00:00:00Z", "endTimestamp": "2026-03-31T23:59:59Z"}

    def test_every_call_is_an_api_call_refusals_too(self, two):
        rt = accepted(two)
        refused(two.mgmt.describe_responsibility_transfer, Id="rt-1")  # a query: not audited, as every read
        refused(two.mgmt.update_responsibility_transfer, Id=rt, Name="x" * 200)
        names = [e["EventName"] for e in two.ledger.client(MANAGEMENT, "cloudtrail").lookup_events()["Events"]]
        assert "InviteOrganizationToTransferResponsibility" in names
        assert names.count("UpdateResponsibilityTransfer") == 1
        assert "AcceptHandshake" in [e["EventName"] for e in
                                     two.ledger.client(OUTSIDER, "cloudtrail").lookup_events()["Events"]]
