"""Decisions 29-31 (the model's 2026 changes, and what the user guide says about deleting an
organization), in-process boto3 over the whole stack, on the store under test."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator

import pytest
from freezegun import freeze_time

from ledger import open_ledger
from ledger.service_layer.requests import service_model
from tests.acceptance.conftest import START, World, error_of
from tests.conftest import ALICE, BOB, MANAGEMENT, OUTSIDER, new_location

PATH = re.compile(service_model().shape_for("Path").metadata["pattern"])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """MANAGEMENT's organization (all features), on the store under test."""
    with new_location(tmp_path) as location, freeze_time(START) as frozen, open_ledger(location) as ledger:
        org = ledger.client(MANAGEMENT).create_organization(FeatureSet="ALL")["Organization"]
        yield World(ledger, frozen, org["Id"])


def history_of(world: World, account_id: str, ledger: Any = None) -> list[dict[str, Any]]:
    """The account's CloudTrail records, oldest first."""
    client = (ledger or world.ledger).client(account_id, "cloudtrail")
    events = [e for page in client.get_paginator("lookup_events").paginate() for e in page["Events"]]
    return [json.loads(e["CloudTrailEvent"]) for e in reversed(events)]


def service_events(world: World, account_id: str, ledger: Any = None) -> list[tuple[str, dict[str, Any]]]:
    return [(r["eventName"], r["serviceEventDetails"]) for r in history_of(world, account_id, ledger)
            if r["eventType"] == "AwsServiceEvent"]


def root_id(world: World) -> str:
    return str(world.mgmt.list_roots()["Roots"][0]["Id"])


class TestDecision29MembershipOfTheManagementAccount:
    def test_create_organization_records_the_management_account_joining(self, world):
        [(name, details)] = service_events(world, MANAGEMENT)
        assert name == "AccountJoinedOrganization"
        assert (details["accountId"], details["organizationId"], details["joinedMethod"]) == \
            (MANAGEMENT, world.org_id, "INVITED")
        assert details["joinedTime"] == "2026-03-01T09:00:00Z"

    def test_delete_organization_records_its_departure(self, world):
        world.days(1)
        world.mgmt.delete_organization()
        (_, _), (name, details) = service_events(world, MANAGEMENT)
        assert name == "AccountDepartedOrganization"
        assert (details["accountId"], details["organizationId"], details["departureMethod"]) == \
            (MANAGEMENT, world.org_id, "LEFT")
        assert details["departureTime"] == "2026-03-02T09:00:00Z"

    def test_lookup_by_resource_finds_them(self, world):
        world.days(1)
        world.mgmt.delete_organization()
        found = world.ledger.client(MANAGEMENT, "cloudtrail").lookup_events(
            LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": world.org_id}])["Events"]
        assert [e["EventName"] for e in found] == ["AccountDepartedOrganization", "AccountJoinedOrganization",
                                                  "CreateOrganization"]

    def test_the_events_are_in_the_history_as_of_an_instant(self, world):
        created = datetime.fromisoformat(START.replace("Z", "+00:00"))
        world.days(1)
        world.mgmt.delete_organization()
        then = world.ledger.at(created)
        assert [name for name, _ in service_events(world, MANAGEMENT, then)] == ["AccountJoinedOrganization"]

    def test_accounts_carry_paths_and_the_management_account_joined_by_invitation(self, world):
        world.join(ALICE)
        accounts = {a["Id"]: a for a in world.mgmt.list_accounts()["Accounts"]}
        root = root_id(world)
        assert set(accounts) == {MANAGEMENT, ALICE}
        for account_id, account in accounts.items():
            assert account["Paths"] == [f"{world.org_id}/{root}/{account_id}/"]
            assert PATH.fullmatch(account["Paths"][0])
            assert account["JoinedMethod"] == "INVITED"
            assert world.mgmt.describe_account(AccountId=account_id)["Account"] == account

    def test_paths_and_joined_method_as_of_an_instant(self, world):
        world.join(ALICE)
        before = world.mgmt.list_accounts()["Accounts"]
        instant = datetime.fromisoformat(START.replace("Z", "+00:00"))
        world.days(1)
        world.mgmt.remove_account_from_organization(AccountId=ALICE)
        then = world.ledger.at(instant.replace(hour=10))
        assert then.client(MANAGEMENT).list_accounts()["Accounts"] == before
        assert then.client(MANAGEMENT).describe_account(AccountId=MANAGEMENT)["Account"]["JoinedMethod"] == "INVITED"
        assert [a["Id"] for a in world.mgmt.list_accounts()["Accounts"]] == [MANAGEMENT]


class TestDecision30DeletingTakesTheInvitationHistory:
    def test_gone_for_both_parties_and_from_both_lists(self, world):
        declined = world.invite(ALICE)
        world.alice.decline_handshake(HandshakeId=declined)
        open_one = world.invite(BOB)
        world.days(1)
        world.mgmt.delete_organization()
        for handshake_id in (declined, open_one):
            for client in (world.mgmt, world.alice if handshake_id == declined else world.bob):
                assert error_of(client.describe_handshake, HandshakeId=handshake_id).code == \
                    "HandshakeNotFoundException"
        assert world.alice.list_handshakes_for_account()["Handshakes"] == []
        assert world.bob.list_handshakes_for_account()["Handshakes"] == []
        assert world.mgmt.list_handshakes_for_account()["Handshakes"] == []

    def test_also_when_the_same_management_account_creates_a_new_organization(self, world):
        joined = world.invite(ALICE)
        world.alice.accept_handshake(HandshakeId=joined)
        world.mgmt.remove_account_from_organization(AccountId=ALICE)
        world.days(1)
        world.mgmt.delete_organization()
        world.mgmt.create_organization(FeatureSet="ALL")
        fresh = world.invite(BOB)
        assert [h["Id"] for h in world.mgmt.list_handshakes_for_organization()["Handshakes"]] == [fresh]
        assert error_of(world.mgmt.describe_handshake, HandshakeId=joined).code == "HandshakeNotFoundException"
        assert error_of(world.alice.describe_handshake, HandshakeId=joined).code == "HandshakeNotFoundException"
        assert world.alice.list_handshakes_for_account()["Handshakes"] == []

    def test_commands_no_longer_find_it(self, world):
        handshake_id = world.invite(ALICE)
        world.mgmt.delete_organization()
        for method in (world.alice.accept_handshake, world.alice.decline_handshake, world.mgmt.cancel_handshake):
            assert error_of(method, HandshakeId=handshake_id).code == "HandshakeNotFoundException"

    def test_events_stay_audit_history_and_time_travel_see_them(self, world):
        handshake_id = world.invite(ALICE)
        answered_live = world.alice.describe_handshake(HandshakeId=handshake_id)["Handshake"]
        before = datetime.fromisoformat(START.replace("Z", "+00:00")).replace(hour=12)
        world.days(1)
        world.mgmt.delete_organization()
        then = world.ledger.at(before)
        assert then.client(ALICE).describe_handshake(HandshakeId=handshake_id)["Handshake"] == answered_live
        assert [h["Id"] for h in then.client(ALICE).list_handshakes_for_account()["Handshakes"]] == [handshake_id]
        assert [h["Id"] for h in then.client(MANAGEMENT).list_handshakes_for_organization()["Handshakes"]] == \
            [handshake_id]
        assert [entry.what for entry in world.ledger.history(handshake_id)] == ["Requested", "Canceled"]
        invited = [r for r in history_of(world, MANAGEMENT) if r["eventName"] == "InviteAccountToOrganization"]
        assert invited[0]["requestParameters"]["target"]["id"] == ALICE

    def test_what_changed_reports_it_gone(self, world):
        handshake_id = world.invite(ALICE)
        world.days(1)
        world.mgmt.delete_organization()
        [change] = [c for c in world.ledger.changes("2026-03-01T10:00:00Z") if c["HandshakeId"] == handshake_id]
        assert (change["Before"]["State"], change["After"]) == ("OPEN", None)


class TestDecision31ManagementAccountCannotDecline:
    def test_decline_refused_while_it_manages_its_own(self, world):
        world.outsider.create_organization(FeatureSet="ALL")
        handshake_id = world.invite(OUTSIDER)
        error = error_of(world.outsider.decline_handshake, HandshakeId=handshake_id)
        assert (error.code, error.reason) == ("HandshakeConstraintViolationException", "ALREADY_IN_AN_ORGANIZATION")
        assert world.state(handshake_id) == "OPEN"
        assert world.state(handshake_id, OUTSIDER) == "OPEN"

    def test_standalone_once_its_organization_is_deleted(self, world):
        world.outsider.create_organization(FeatureSet="ALL")
        handshake_id = world.invite(OUTSIDER)
        world.outsider.delete_organization()
        assert world.outsider.decline_handshake(HandshakeId=handshake_id)["Handshake"]["State"] == "DECLINED"

    def test_a_member_of_another_organization_may_still_decline(self, world):
        world.outsider.create_organization(FeatureSet="ALL")
        other = world.outsider.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": BOB})["Handshake"]["Id"]
        world.bob.accept_handshake(HandshakeId=other)
        handshake_id = world.invite(BOB)
        assert world.bob.decline_handshake(HandshakeId=handshake_id)["Handshake"]["State"] == "DECLINED"

    def test_the_state_is_judged_first(self, world):
        world.outsider.create_organization(FeatureSet="ALL")
        handshake_id = world.invite(OUTSIDER)
        world.mgmt.cancel_handshake(HandshakeId=handshake_id)
        assert error_of(world.outsider.decline_handshake, HandshakeId=handshake_id).code == \
            "InvalidHandshakeTransitionException"
