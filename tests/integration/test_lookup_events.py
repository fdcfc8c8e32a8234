"""CloudTrail's LookupEvents in-process (``ledger.client(account, "cloudtrail")``), on both stores."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest
from botocore.exceptions import ClientError
from freezegun import freeze_time

from ledger import open_ledger
from ledger.service_layer.application import Limits
from ledger.entrypoints.accounts import Accounts
from ledger.entrypoints.aws_json import AwsJsonService
from ledger.entrypoints.cloudtrail import TARGET_PREFIX
from ledger.entrypoints.identity import Identity, SignedRequest
from tests.conftest import ALICE, BOB, MANAGEMENT

T0 = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)


@pytest.fixture
def story(data_location: str) -> Iterator[tuple[Any, dict[str, Any]]]:
    """A minute each: an organization; ALICE invited; MANAGEMENT tries to accept (AccessDenied);
    ALICE accepts (and joins); ALICE accepts again (HandshakeAlreadyInState); BOB invited."""
    with freeze_time(T0) as clock, open_ledger(data_location, limits=Limits(accounts_per_organization=5)) as ledger:
        mgmt, alice = ledger.client(MANAGEMENT), ledger.client(ALICE)
        marks: dict[str, Any] = {"org": mgmt.create_organization()["Organization"]["Id"]}
        clock.tick(60)
        marks["alice"] = mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]["Id"]
        for attempt in (lambda: mgmt.accept_handshake(HandshakeId=marks["alice"]),
                        lambda: alice.accept_handshake(HandshakeId=marks["alice"]),
                        lambda: alice.accept_handshake(HandshakeId=marks["alice"])):
            clock.tick(60)
            try:
                attempt()
            except ClientError:
                pass
        clock.tick(60)
        marks["bob"] = mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": BOB})["Handshake"]["Id"]
        yield ledger, marks


def names(events: list[dict[str, Any]]) -> list[str]:
    return [e["EventName"] + (f"!{json.loads(e['CloudTrailEvent'])['errorCode']}"
                              if "errorCode" in json.loads(e["CloudTrailEvent"]) else "") for e in events]


def raw(ledger: Any, body: Any, account: str = MANAGEMENT) -> tuple[int, dict[str, Any]]:
    """LookupEvents as bytes on the wire would ask it, past botocore's own checks."""
    headers = {"x-amz-target": TARGET_PREFIX + "LookupEvents",
               "authorization": f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/cloudtrail/aws4_request, "
                                "SignedHeaders=host, Signature=0"}
    answer = AwsJsonService(ledger, Identity(Accounts())).handle(SignedRequest("POST", "/", headers, json.dumps(body).encode()))
    return answer.status, json.loads(answer.body)


def everything(client: Any, **params: Any) -> list[dict[str, Any]]:
    return [e for page in client.get_paginator("lookup_events").paginate(**params) for e in page["Events"]]


class TestEachAccountSeesItsOwnHistory:
    def test_management_sees_its_calls_refusals_and_membership_events_newest_first(self, story):
        ledger, _ = story
        assert names(ledger.client(MANAGEMENT, "cloudtrail").lookup_events()["Events"]) == [
            "InviteAccountToOrganization", "AccountJoinedOrganization",
            "AcceptHandshake!AccessDeniedException", "InviteAccountToOrganization", "AccountJoinedOrganization",
            "CreateOrganization"]

    def test_a_member_sees_only_its_own_calls(self, story):
        ledger, _ = story
        assert names(ledger.client(ALICE, "cloudtrail").lookup_events()["Events"]) == [
            "AcceptHandshake!HandshakeAlreadyInStateException", "AcceptHandshake"]
        assert ledger.client(BOB, "cloudtrail").lookup_events()["Events"] == []

    def test_an_event_has_the_model_shape_and_its_record(self, story):
        ledger, marks = story
        (event,) = ledger.client(ALICE, "cloudtrail").lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "AcceptHandshake"}], MaxResults=1)["Events"]
        assert set(event) == {"EventId", "EventName", "ReadOnly", "AccessKeyId", "EventTime", "EventSource", "Username",
                              "Resources", "CloudTrailEvent"}
        assert (event["Username"], event["AccessKeyId"], event["ReadOnly"]) == ("root", ALICE, "false")
        assert event["EventTime"] == T0 + timedelta(minutes=4)
        assert event["Resources"] == [{"ResourceType": "AWS::Organizations::Handshake", "ResourceName": marks["alice"]}]
        record = json.loads(event["CloudTrailEvent"])
        assert (record["eventID"], record["eventTime"], record["recipientAccountId"]) == \
            (event["EventId"], "2026-05-01T12:04:00Z", ALICE)


class TestPaging:
    def test_the_paginator_follows_next_token_one_event_a_page(self, story):
        ledger, _ = story
        client = ledger.client(MANAGEMENT, "cloudtrail")
        pages = list(client.get_paginator("lookup_events").paginate(PaginationConfig={"PageSize": 2}))
        assert [len(page["Events"]) for page in pages] == [2, 2, 2]
        assert [e["EventId"] for page in pages for e in page["Events"]] == \
            [e["EventId"] for e in client.lookup_events()["Events"]]

    def test_a_page_never_repeats_or_skips_when_calls_are_added_meanwhile(self, story):
        ledger, _ = story
        client = ledger.client(MANAGEMENT, "cloudtrail")
        first = client.lookup_events(MaxResults=2)
        ledger.client(MANAGEMENT).invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": "555555555555"})
        rest = everything(client, PaginationConfig={"StartingToken": first["NextToken"]})
        assert names(first["Events"] + rest) == names(client.lookup_events()["Events"])[1:]

    def test_a_token_is_bound_to_the_caller_and_the_lookup(self, story):
        ledger, _ = story
        token = ledger.client(MANAGEMENT, "cloudtrail").lookup_events(MaxResults=1)["NextToken"]
        for client, params in ((ledger.client(ALICE, "cloudtrail"), {}),
                               (ledger.client(MANAGEMENT, "cloudtrail"), {"StartTime": T0})):
            with pytest.raises(client.exceptions.InvalidNextTokenException):
                client.lookup_events(NextToken=token, **params)


class TestLookupAttributes:
    @pytest.mark.parametrize(("key", "value", "expected"), [
        ("EventName", "AcceptHandshake", ["AcceptHandshake!AccessDeniedException"]),
        ("Username", "root", ["InviteAccountToOrganization", "AcceptHandshake!AccessDeniedException",
                              "InviteAccountToOrganization", "CreateOrganization"]),
        ("Username", "alice", []),
        ("ReadOnly", "true", []),
        ("EventSource", "organizations.amazonaws.com", None),
        ("EventSource", "ec2.amazonaws.com", []),
        ("AccessKeyId", MANAGEMENT, ["InviteAccountToOrganization", "AcceptHandshake!AccessDeniedException",
                                     "InviteAccountToOrganization", "CreateOrganization"]),
        ("ResourceType", "AWS::Organizations::Organization",
         ["AccountJoinedOrganization", "AccountJoinedOrganization", "CreateOrganization"]),
        ("ResourceName", ALICE, ["AccountJoinedOrganization", "InviteAccountToOrganization"]),
    ])
    def test_one_attribute(self, story, key, value, expected):
        ledger, _ = story
        client = ledger.client(MANAGEMENT, "cloudtrail")
        found = names(everything(client, LookupAttributes=[{"AttributeKey": key, "AttributeValue": value}]))
        assert found == (names(client.lookup_events()["Events"]) if expected is None else expected)

    def test_resource_name_finds_every_call_on_a_handshake_accepted_or_refused(self, story):
        ledger, marks = story
        lookup = [{"AttributeKey": "ResourceName", "AttributeValue": marks["alice"]}]
        assert names(everything(ledger.client(MANAGEMENT, "cloudtrail"), LookupAttributes=lookup)) == [
            "AcceptHandshake!AccessDeniedException", "InviteAccountToOrganization"]
        assert names(everything(ledger.client(ALICE, "cloudtrail"), LookupAttributes=lookup)) == [
            "AcceptHandshake!HandshakeAlreadyInStateException", "AcceptHandshake"]

    def test_event_id_finds_one_event(self, story):
        ledger, _ = story
        client = ledger.client(MANAGEMENT, "cloudtrail")
        wanted = client.lookup_events()["Events"][2]
        found = client.lookup_events(LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": wanted["EventId"]}])
        assert found["Events"] == [wanted]


class TestTime:
    def test_start_and_end_are_included_to_the_second(self, story):
        ledger, _ = story
        client = ledger.client(MANAGEMENT, "cloudtrail")
        found = everything(client, StartTime=T0 + timedelta(minutes=1), EndTime=T0 + timedelta(minutes=3, seconds=0.5))
        assert names(found) == ["AccountJoinedOrganization", "AcceptHandshake!AccessDeniedException",
                                "InviteAccountToOrganization"]

    def test_as_of_an_instant_shows_the_history_as_it_stood_then(self, story):
        ledger, _ = story
        then = ledger.at(T0 + timedelta(minutes=2, seconds=30)).client(MANAGEMENT, "cloudtrail")
        assert names(everything(then)) == ["AcceptHandshake!AccessDeniedException", "InviteAccountToOrganization",
                                           "AccountJoinedOrganization", "CreateOrganization"]

    def test_insight_events_there_are_none(self, story):
        ledger, _ = story
        assert ledger.client(MANAGEMENT, "cloudtrail").lookup_events(EventCategory="insight")["Events"] == []


class TestRefusals:
    @pytest.mark.parametrize(("params", "code"), [
        ({"MaxResults": 0}, "InvalidMaxResultsException"),
        ({"MaxResults": 51}, "InvalidMaxResultsException"),
        ({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "A"},
                               {"AttributeKey": "EventName", "AttributeValue": "B"}]}, "InvalidLookupAttributesException"),
        ({"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "yes"}]}, "InvalidLookupAttributesException"),
        ({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "x" * 2001}]},
         "InvalidLookupAttributesException"),
        ({"LookupAttributes": [{"AttributeKey": "EventTime", "AttributeValue": "x"}]}, "InvalidLookupAttributesException"),
        ({"LookupAttributes": [{"AttributeKey": "EventName"}]}, "InvalidLookupAttributesException"),
        ({"StartTime": T0.timestamp() + 86400, "EndTime": T0.timestamp()}, "InvalidTimeRangeException"),
        ({"NextToken": "not-a-token"}, "InvalidNextTokenException"),
        ({"NextToken": "\x1b[2J"}, "InvalidNextTokenException"),
        ({"NextToken": 7}, "InvalidNextTokenException"),
        ({"EventCategory": "management"}, "InvalidEventCategoryException"),
        ({"MaxResults": "5"}, "SerializationException"),
        ({"StartTime": "2026-05-01T12:00:00Z"}, "SerializationException"),
        ({"StartTime": 1e300}, "SerializationException"),
        ({"LookupAttributes": "EventName"}, "SerializationException"),
    ])
    def test_a_bad_request_gets_cloudtrails_error(self, story, params, code):
        ledger, _ = story
        status, answer = raw(ledger, params)
        assert (status, answer["__type"]) == (400, code)
        assert answer["Message"] and set(answer) == {"__type", "Message"}

    def test_another_cloudtrail_operation_is_unknown(self, story):
        ledger, _ = story
        with pytest.raises(ClientError) as refused:
            ledger.client(MANAGEMENT, "cloudtrail").describe_trails()
        assert refused.value.response["Error"]["Code"] == "UnknownOperationException"

    def test_a_read_records_nothing(self, story):
        ledger, _ = story
        before = ledger.app.recorder.select_calls()
        ledger.client(MANAGEMENT, "cloudtrail").lookup_events()
        assert ledger.app.recorder.select_calls() == before
