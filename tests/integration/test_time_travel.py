"""The whole ledger as of an instant or a position, from the view's versions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest
from freezegun import freeze_time

from ledger import open_ledger
from tests.conftest import ALICE, BOB, MANAGEMENT

T0 = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)


@pytest.fixture
def story(data_location: str) -> Iterator[tuple[Any, Any, dict[str, Any]]]:
    """A day each: an organization; ALICE invited; ALICE joins; BOB invited; ALICE removed; ALL features."""
    with freeze_time(T0) as clock, open_ledger(data_location) as ledger:
        mgmt = ledger.client(MANAGEMENT)
        marks: dict[str, Any] = {"org": mgmt.create_organization(FeatureSet="CONSOLIDATED_BILLING")["Organization"]}
        clock.tick(timedelta(days=1))
        marks["alice"] = mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]["Id"]
        clock.tick(timedelta(days=1))
        ledger.client(ALICE).accept_handshake(HandshakeId=marks["alice"])
        clock.tick(timedelta(days=1))
        marks["bob"] = mgmt.invite_account_to_organization(Target={"Type": "EMAIL", "Id": "bob@example.com"})[
            "Handshake"]["Id"]
        clock.tick(timedelta(days=1))
        mgmt.remove_account_from_organization(AccountId=ALICE)
        clock.tick(timedelta(days=1))
        ledger.register_account(BOB, "bob@example.com", "Bob")
        clock.tick(timedelta(days=1))
        yield ledger, clock, marks


def day(n: float) -> datetime:
    return T0 + timedelta(days=n, hours=1)


def member_ids(client: Any) -> list[str]:
    return [a["Id"] for a in client.list_accounts()["Accounts"]]


class TestAsOfAnInstant:
    def test_list_accounts_and_describe_account_as_they_were(self, story):
        ledger, _, _ = story
        assert member_ids(ledger.at(day(1)).client(MANAGEMENT)) == [MANAGEMENT]
        assert member_ids(ledger.at(day(3)).client(MANAGEMENT)) == [MANAGEMENT, ALICE]
        assert member_ids(ledger.client(MANAGEMENT)) == [MANAGEMENT]
        joined = ledger.at(day(3)).client(MANAGEMENT).describe_account(AccountId=ALICE)["Account"]
        assert (joined["JoinedMethod"], joined["JoinedTimestamp"]) == ("INVITED", T0 + timedelta(days=2))

    def test_describe_organization_as_it_was(self, story):
        ledger, _, marks = story
        then = ledger.at(day(3)).client(ALICE).describe_organization()["Organization"]
        assert (then["Id"], then["FeatureSet"]) == (marks["org"]["Id"], "CONSOLIDATED_BILLING")
        with pytest.raises(ledger.client(ALICE).exceptions.AWSOrganizationsNotInUseException):
            ledger.at(day(1)).client(ALICE).describe_organization()

    def test_nothing_before_the_first_event(self, story):
        ledger, _, _ = story
        with pytest.raises(ledger.client(MANAGEMENT).exceptions.AWSOrganizationsNotInUseException):
            ledger.at(T0 - timedelta(seconds=1)).client(MANAGEMENT).describe_organization()

    def test_email_invitation_reaches_whoever_owned_the_address_then(self, story):
        ledger, _, marks = story
        assert ledger.at(day(4)).client(BOB).list_handshakes_for_account()["Handshakes"] == []
        now = ledger.client(BOB).list_handshakes_for_account()["Handshakes"]
        assert [h["Id"] for h in now] == [marks["bob"]]

    def test_iso_and_relative_instants(self, story):
        ledger, clock, _ = story
        assert ledger.at(day(3).isoformat()).moment() == ledger.at(day(3)).moment()
        assert ledger.at("-4d").moment().instant == clock().replace(tzinfo=timezone.utc) - timedelta(days=4)
        with pytest.raises(ValueError, match="invalid instant"):
            ledger.at("yesterday")

    def test_commands_are_refused_and_record_nothing(self, story):
        ledger, _, marks = story
        before = ledger.app.recorder.max_notification_id()
        past = ledger.at(day(1.5)).client(ALICE)
        with pytest.raises(past.exceptions.AccessDeniedException) as caught:
            past.accept_handshake(HandshakeId=marks["alice"])
        assert "read-only" in caught.value.response["Error"]["Message"]
        assert ledger.app.recorder.max_notification_id() == before

    def test_analytics_as_of(self, story):
        ledger, _, _ = story
        (then,) = ledger.at(day(1)).analytics()
        assert (then["Total"], then["Open"]) == (1, 1)
        (now,) = ledger.analytics()
        assert (now["Total"], now["Accepted"], now["Open"]) == (2, 1, 1)


class TestAsOfAPosition:
    def test_each_position_is_the_log_up_to_it(self, story):
        ledger, _, marks = story

        def listed(position: int) -> list[str]:
            client = ledger.at(position=position).client(MANAGEMENT)
            try:
                return [h["Id"] for h in client.list_handshakes_for_organization()["Handshakes"]]
            except client.exceptions.AWSOrganizationsNotInUseException:
                return []

        seen = [listed(p) for p in range(ledger.view.position() + 1)]
        assert seen[0] == [] and seen[-1] == [marks["bob"], marks["alice"]]
        first_with_alice = next(p for p, ids in enumerate(seen) if marks["alice"] in ids)
        assert ledger.at(position=first_with_alice).instant == T0 + timedelta(days=1)

    def test_a_position_past_the_log_is_refused(self, story):
        ledger, _, _ = story
        with pytest.raises(ValueError, match="not in the log"):
            ledger.at(position=ledger.view.position() + 1)


class TestTokensAndChanges:
    def test_a_token_is_bound_to_its_moment(self, data_location):
        with freeze_time(T0) as clock, open_ledger(data_location) as ledger:
            mgmt = ledger.client(MANAGEMENT)
            mgmt.create_organization()
            for n in range(3):
                mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": f"50000000000{n}"})
                clock.tick(60)
            past = ledger.at(T0 + timedelta(seconds=150)).client(MANAGEMENT)
            token = past.list_handshakes_for_organization(MaxResults=1)["NextToken"]
            assert len(past.list_handshakes_for_organization(MaxResults=1, NextToken=token)["Handshakes"]) == 1
            for other in (mgmt, ledger.at(T0 + timedelta(seconds=100)).client(MANAGEMENT)):
                with pytest.raises(other.exceptions.InvalidInputException):
                    other.list_handshakes_for_organization(MaxResults=1, NextToken=token)

    def test_changes_between_two_instants(self, story):
        ledger, clock, marks = story
        changed = {c["HandshakeId"]: c for c in ledger.changes(day(0), day(2))}
        assert set(changed) == {marks["alice"]}
        assert changed[marks["alice"]]["Before"] is None
        assert changed[marks["alice"]]["After"]["State"] == "ACCEPTED"
        clock.tick(timedelta(days=30))  # BOB's invitation expired on day 18: a change with no event
        expired = ledger.changes(day(5), "now")
        by_id = {c["HandshakeId"]: c for c in expired}
        assert by_id[marks["bob"]]["Before"]["State"] == "OPEN" and by_id[marks["bob"]]["After"]["State"] == "EXPIRED"
        assert by_id[marks["alice"]]["After"] is None  # accepted on day 2: retention ended on day 32

    def test_changes_as_one_account_saw_them(self, story):
        ledger, _, marks = story
        assert [c["HandshakeId"] for c in ledger.changes(day(4), day(6), account_id=BOB)] == [marks["bob"]]
        assert ledger.changes(day(4), day(6), account_id=ALICE) == []
        assert ledger.changes(day(0), day(6), organization_id="o-nothere000") == []
