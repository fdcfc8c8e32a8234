"""The audit log: every command call, accepted or refused, beside the events; the export,
LookupEvents and ``history`` agree on it call for call."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from freezegun import freeze_time

from ledger import open_ledger
from ledger.entrypoints.cloudtrail.export import export
from tests.audit_story import ACCOUNTS, LIMITS, REFUSED, T0, tell
from tests.conftest import ALICE, BOB, MANAGEMENT


def calls(ledger: Any) -> list[Any]:
    return ledger.app.recorder.select_calls()


@pytest.fixture
def story(data_location: str):
    with freeze_time(T0) as clock, open_ledger(data_location, limits=LIMITS) as ledger:
        marks = tell(ledger.client, clock)
        yield ledger, marks


class TestEveryCall:
    def test_refused_calls_are_recorded_with_their_error(self, story):
        ledger, _ = story
        api_calls = [c for c in calls(ledger) if c.event_type == "AwsApiCall"]
        assert [(c.event_name, c.error_code) for c in api_calls] == [
            ("CreateOrganization", None), ("InviteAccountToOrganization", None), ("InviteAccountToOrganization", None),
            ("AcceptHandshake", "AccessDeniedException"), ("AcceptHandshake", None),
            ("AcceptHandshake", "HandshakeAlreadyInStateException"),
            ("InviteAccountToOrganization", "HandshakeConstraintViolationException"), ("DeclineHandshake", None),
            ("AcceptHandshake", "InvalidHandshakeTransitionException"), ("RemoveAccountFromOrganization", None),
        ]

    def test_invalid_input_is_recorded_too(self, story):
        ledger, _ = story
        with pytest.raises(ClientError):
            ledger.client(MANAGEMENT).decline_handshake(HandshakeId="h-short")
        last = calls(ledger)[-1]
        assert (last.event_name, last.error_code, last.request_parameters) == \
            ("DeclineHandshake", "InvalidInputException", {"HandshakeId": "h-short"})

    def test_a_record_names_who_from_where_and_what(self, story):
        ledger, marks = story
        accepted = next(c for c in calls(ledger) if c.event_name == "AcceptHandshake" and not c.refused)
        assert (accepted.account_id, accepted.access_key_id, accepted.recipient_account_id) == (ALICE, ALICE, ALICE)
        assert accepted.user_agent.startswith("Botocore/")
        assert accepted.request_parameters == {"HandshakeId": marks["alice"]}
        assert accepted.response_elements["Handshake"]["State"] == "ACCEPTED"
        assert accepted.resources == (("AWS::Organizations::Handshake", marks["alice"]),)
        history = ledger.history(marks["alice"])
        assert next(e for e in history if e.what == "Accepted").request_id == accepted.request_id

    def test_membership_changes_are_service_events_in_the_management_log(self, story):
        ledger, _ = story
        created, joined, departed = [c for c in calls(ledger) if c.event_type == "AwsServiceEvent"]
        assert (created.event_name, created.details["accountId"], created.details["joinedMethod"]) == \
            ("AccountJoinedOrganization", MANAGEMENT, "INVITED")  # decision 29
        assert (joined.event_name, joined.recipient_account_id) == ("AccountJoinedOrganization", MANAGEMENT)
        assert (joined.details["accountId"], joined.details["joinedMethod"]) == (ALICE, "INVITED")
        assert (departed.event_name, departed.details["departureMethod"]) == ("AccountDepartedOrganization", "REMOVED")


class TestRefusedCallsChangeNothing:
    def test_no_event_carries_the_request_id_of_a_refused_call(self, story):
        ledger, _ = story
        refused = {c.request_id for c in calls(ledger) if c.refused}
        assert len(refused) == len(REFUSED)
        assert not refused & {event["request_id"] for event in ledger.events()}

    def test_no_event_and_no_view_row_for_a_refusal(self, story):
        ledger, marks = story
        head, view, audited = ledger.app.recorder.max_notification_id(), ledger.view.position(), len(calls(ledger))
        with pytest.raises(ClientError):
            ledger.client(BOB).accept_handshake(HandshakeId=marks["alice"])
        assert (ledger.app.recorder.max_notification_id(), ledger.view.position()) == (head, view)
        assert len(calls(ledger)) == audited + 1

    def test_a_rebuild_leaves_the_audit_untouched(self, story):
        ledger, _ = story
        before = calls(ledger)
        ledger.rebuild()
        assert calls(ledger) == before


def exported(ledger: Any, folder: Path) -> list[dict[str, Any]]:
    export(ledger.trail, folder)
    return [record for path in sorted(folder.rglob("*.json.gz"))
            for record in json.loads(gzip.decompress(path.read_bytes()))["Records"]]


def about(record: dict[str, Any], handshake_id: str) -> bool:
    asked = (record.get("requestParameters") or {}).get("handshakeId")
    answered = ((record.get("responseElements") or {}).get("handshake") or {}).get("id")
    return handshake_id in (asked, answered)


class TestExportLookupAndHistoryAgree:
    """Call for call: (request id, refused) of every call on a handshake, three ways."""

    @pytest.mark.parametrize("which", ["alice", "bob"])
    def test_on_each_handshake(self, story, tmp_path, which):
        ledger, marks = story
        handshake_id = marks[which]
        from_history = {(e.request_id, e.refused) for e in ledger.history(handshake_id) if e.request_id}
        from_export = {(r["requestID"], "errorCode" in r) for r in exported(ledger, tmp_path) if about(r, handshake_id)}
        lookup = [{"AttributeKey": "ResourceName", "AttributeValue": handshake_id}]
        from_lookup = {(json.loads(e["CloudTrailEvent"])["requestID"], "errorCode" in e["CloudTrailEvent"])
                       for account in ACCOUNTS
                       for page in ledger.client(account, "cloudtrail").get_paginator("lookup_events").paginate(
                           LookupAttributes=lookup)
                       for e in page["Events"] if json.loads(e["CloudTrailEvent"])["eventType"] == "AwsApiCall"}
        assert from_history == from_export == from_lookup
        assert len(from_history) == {"alice": 4, "bob": 3}[which] and any(refused for _, refused in from_history)

    def test_every_record_once_in_its_recipients_log(self, story, tmp_path):
        ledger, _ = story
        records = exported(ledger, tmp_path)
        assert sorted(r["eventID"] for r in records) == sorted(c.event_id for c in calls(ledger))
        by_lookup = sorted(e["EventId"] for account in ACCOUNTS
                           for page in ledger.client(account, "cloudtrail").get_paginator("lookup_events").paginate()
                           for e in page["Events"])
        assert by_lookup == sorted(r["eventID"] for r in records)
        for path in tmp_path.rglob("*.json.gz"):
            account = path.relative_to(tmp_path).parts[1]
            assert {r["recipientAccountId"] for r in json.loads(gzip.decompress(path.read_bytes()))["Records"]} == {account}

    def test_history_marks_each_refusal_with_its_error_and_the_state_it_found(self, story):
        ledger, marks = story
        refusals = [(e.what, e.actor, e.state, e.details["errorCode"]) for e in ledger.history(marks["alice"]) if e.refused]
        assert refusals == [("AcceptHandshake", MANAGEMENT, "OPEN", "AccessDeniedException"),
                            ("AcceptHandshake", ALICE, "ACCEPTED", "HandshakeAlreadyInStateException")]
        assert [e.refused for e in ledger.history(marks["alice"], as_of=T0.replace(minute=3, second=30))] == [False, True]
