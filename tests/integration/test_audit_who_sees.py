"""Whose history a refused call is, and what it names (on both stores): a refused call belongs
to its caller; it names a handshake only when its command found the caller may see it, so
nobody plants records on someone else's handshake; a handshake's page shows its parties'
refused calls a page at a time; every authenticated call but a read is recorded."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest
from freezegun import freeze_time

from ledger import open_ledger
from ledger.entrypoints.accounts import Accounts
from ledger.entrypoints.identity import SignedRequest
from ledger.entrypoints.webui.app import WebUI
from ledger.entrypoints.webui.handshake_page import REFUSALS_SHOWN
from tests.conftest import ALICE, BOB, MANAGEMENT, OUTSIDER, new_location
from tests.integration.test_audit_bounds import send


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Any]:
    """MANAGEMENT's organization; BOB manages another; ALICE invited by MANAGEMENT."""
    with new_location(tmp_path) as location, freeze_time("2026-05-01T12:00:00Z") as clock, \
            open_ledger(location) as opened:
        opened.client(MANAGEMENT).create_organization(FeatureSet="ALL")
        opened.client(BOB).create_organization(FeatureSet="ALL")
        opened.invited = opened.client(MANAGEMENT).invite_account_to_organization(  # type: ignore[attr-defined]
            Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]["Id"]
        opened.clock_ = clock  # type: ignore[attr-defined]
        yield opened


def records(ledger: Any, account: str) -> list[dict[str, Any]]:
    """The account's records, newest first, with their LookupEvents resources."""
    events = ledger.client(account, "cloudtrail").lookup_events()["Events"]
    return [{**json.loads(e["CloudTrailEvent"]), "Resources": e["Resources"]} for e in events]


def by_handshake(ledger: Any, account: str, handshake_id: str) -> list[str]:
    found = ledger.client(account, "cloudtrail").lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": handshake_id}])["Events"]
    return [e["EventName"] for e in found]


def page(ledger: Any, handshake_id: str, query: str = "") -> str:
    answer = WebUI(ledger, Accounts()).handle(SignedRequest("GET", f"/ui/handshakes/{handshake_id}{query}", {}, b""))
    assert answer.status == 200, answer.body[:300]
    return answer.body.decode()


class TestARefusedCallNamesOnlyWhatItsCallerMaySee:
    @pytest.mark.parametrize("caller", [OUTSIDER, BOB])  # no organization; another organization's management
    def test_a_stranger_plants_nothing(self, ledger, caller):
        body = json.dumps({"HandshakeId": ledger.invited}).encode()
        for operation in ("DeclineHandshake", "AcceptHandshake", "CancelHandshake", "LeaveOrganization",
                          "EnableAllFeatures"):
            assert send(ledger, operation, body, caller)[0] == 400
        assert all(r["Resources"] == [] and r.get("resources") is None for r in records(ledger, caller)[:5])
        assert by_handshake(ledger, caller, ledger.invited) == []
        assert [e.what for e in ledger.history(ledger.invited)] == ["Requested"]
        assert caller not in page(ledger, ledger.invited)

    def test_an_operation_without_that_member_names_nothing_even_for_a_party(self, ledger):
        assert send(ledger, "LeaveOrganization", json.dumps({"HandshakeId": ledger.invited}).encode(), ALICE)[0] == 400
        [record] = records(ledger, ALICE)
        assert (record["errorCode"], record["Resources"]) == ("AWSOrganizationsNotInUseException", [])

    def test_a_party_on_the_wrong_side_is_named_on_it(self, ledger):
        body = json.dumps({"HandshakeId": ledger.invited}).encode()
        assert send(ledger, "AcceptHandshake", body, MANAGEMENT)[1]["__type"] == "AccessDeniedException"
        assert by_handshake(ledger, MANAGEMENT, ledger.invited)[:2] == ["AcceptHandshake", "InviteAccountToOrganization"]
        assert [(e.what, e.actor, e.refused) for e in ledger.history(ledger.invited)] == \
            [("Requested", MANAGEMENT, False), ("AcceptHandshake", MANAGEMENT, True)]

    def test_removing_someone_not_a_member_names_no_account(self, ledger):
        assert send(ledger, "RemoveAccountFromOrganization", json.dumps({"AccountId": OUTSIDER}).encode())[0] == 400
        assert records(ledger, MANAGEMENT)[0]["Resources"] == []

    def test_accepted_calls_name_only_the_members_their_operation_takes(self, ledger):
        body = json.dumps({"FeatureSet": "ALL", "HandshakeId": ledger.invited, "AccountId": ALICE}).encode()
        send(ledger, "CreateOrganization", body, OUTSIDER)
        assert all(r["ResourceType"] == "AWS::Organizations::Organization"
                   for r in records(ledger, OUTSIDER)[-1]["Resources"])
        status, _ = send(ledger, "DeclineHandshake", json.dumps({"HandshakeId": ledger.invited}).encode(), ALICE)
        assert status == 200
        assert records(ledger, ALICE)[0]["Resources"] == [
            {"ResourceType": "AWS::Organizations::Handshake", "ResourceName": ledger.invited}]


class TestTheHandshakePageIsBounded:
    def test_replays_of_one_signed_refusal_do_not_grow_the_page(self, ledger):
        body = json.dumps({"HandshakeId": ledger.invited}).encode()
        assert send(ledger, "DeclineHandshake", body, ALICE)[0] == 200
        for _ in range(REFUSALS_SHOWN + 10):
            assert send(ledger, "DeclineHandshake", body, ALICE)[0] == 400  # already DECLINED
        first = page(ledger, ledger.invited)
        for _ in range(600):
            send(ledger, "DeclineHandshake", body, ALICE)
        later = page(ledger, ledger.invited)
        assert abs(len(later) - len(first)) < 0.02 * len(first)
        assert later.count('data-label="What">DeclineHandshake') == REFUSALS_SHOWN

    def test_older_refused_calls_are_a_link_away(self, ledger):
        body = json.dumps({"HandshakeId": ledger.invited}).encode()
        send(ledger, "DeclineHandshake", body, ALICE)
        for _ in range(REFUSALS_SHOWN + 3):
            ledger.clock_.tick(1)
            send(ledger, "DeclineHandshake", body, ALICE)
        newest = page(ledger, ledger.invited)
        link = newest.split('id="older-refusals" href="')[1].split('"')[0].replace("&amp;", "&")
        # sealed like a NextToken: no audit position (it counts every account's calls) in the clear
        assert "refused_before=" in link and not re.search(r"refused_before=[0-9]+(\.|%2E)[0-9]+", link)
        older = page(ledger, ledger.invited, link[link.index("?"):])
        assert older.count('data-label="What">DeclineHandshake') == 3 and 'id="older-refusals"' not in older
        assert "Declined" in older and "Requested" in older  # the events are on every page

    @pytest.mark.parametrize("junk", ["?refused_before=99999999999999999999999.1", "?refused_before=x",
                                      "?refused_before=-1.-1", "?refused_before=" + "9" * 5000])
    def test_a_junk_key_is_a_clear_400(self, ledger, junk):
        answer = WebUI(ledger, Accounts()).handle(SignedRequest("GET", f"/ui/handshakes/{ledger.invited}{junk}", {}, b""))
        assert answer.status == 400 and b"Invalid refused_before" in answer.body and len(answer.body) < 64_000


class TestEveryAuthenticatedCallIsRecorded:
    def test_a_command_sent_to_the_past(self, ledger):
        status, answer = send(ledger, "CancelHandshake", json.dumps({"HandshakeId": ledger.invited}).encode(),
                              path="/as-of/-1h")
        assert status >= 400 and answer["__type"] == "AccessDeniedException"
        record = records(ledger, MANAGEMENT)[0]
        assert (record["eventName"], record["errorCode"]) == ("CancelHandshake", "AccessDeniedException")
        assert record["requestParameters"] == {"handshakeId": ledger.invited}

    @pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
    def test_a_body_that_is_not_a_json_object(self, ledger, body):
        status, answer = send(ledger, "DeclineHandshake", body, ALICE)
        assert status == 400
        record = records(ledger, ALICE)[0]
        assert (record["eventName"], record["errorCode"], record["requestParameters"]) == \
            ("DeclineHandshake", answer["__type"], None)

    def test_an_unknown_operation(self, ledger):
        status, answer = send(ledger, "TransferEverything", b"{}", ALICE)
        assert (status, answer["__type"]) == (400, "UnknownOperationException")
        record = records(ledger, ALICE)[0]
        assert (record["eventName"], record["errorCode"]) == ("TransferEverything", "UnknownOperationException")

    def test_reads_are_not_recorded_refused_or_not(self, ledger):
        send(ledger, "DescribeHandshake", b"{not json", ALICE)
        send(ledger, "DescribeHandshake", json.dumps({"HandshakeId": ledger.invited}).encode(), ALICE)
        assert records(ledger, ALICE) == []
