"""CloudTrail's LookupEvents on the real server: boto3's client and paginator, the AWS CLI, the as-of
prefix and strict mode. The story of ``tests/audit_story.py``, told over HTTP."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Iterator

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from ledger import open_ledger
from ledger.entrypoints.cloudtrail import TARGET_PREFIX
from tests.audit_story import tell
from tests.conftest import ALICE, BOB, MANAGEMENT, OUTSIDER, new_location
from tests.e2e.conftest import NO_RETRIES, Server, post, write_accounts
from tests.e2e.test_aws_cli import aws

MANAGEMENT_LOG = ["AccountDepartedOrganization", "RemoveAccountFromOrganization",
                  "InviteAccountToOrganization!HandshakeConstraintViolationException", "AccountJoinedOrganization",
                  "AcceptHandshake!AccessDeniedException", "InviteAccountToOrganization", "InviteAccountToOrganization",
                  "AccountJoinedOrganization", "CreateOrganization"]


@pytest.fixture(scope="module")
def told(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, Any]]]:
    with new_location(tmp_path_factory.mktemp("cloudtrail")) as data:
        server = Server(data, env={"HANDSHAKE_LEDGER_ACCOUNT_LIMIT": "3"}).start()
        try:
            yield server, tell(server.client)
        finally:
            assert server.stop() == 0


def cloudtrail(server: Server, account: str, secret: str = "x", path: str = "") -> Any:
    return boto3.client("cloudtrail", endpoint_url=server.url + path, region_name="us-east-1",
                        aws_access_key_id=account, aws_secret_access_key=secret, config=NO_RETRIES)


def named(events: list[dict[str, Any]]) -> list[str]:
    records = [json.loads(e["CloudTrailEvent"]) for e in events]
    return [r["eventName"] + (f"!{r['errorCode']}" if "errorCode" in r else "") for r in records]


def paged(client: Any, **params: Any) -> tuple[int, list[dict[str, Any]]]:
    pages = list(client.get_paginator("lookup_events").paginate(**params))
    return len(pages), [e for page in pages for e in page["Events"]]


class TestBoto3:
    def test_the_paginator_pages_through_the_management_accounts_history(self, told):
        server, _ = told
        pages, events = paged(cloudtrail(server, MANAGEMENT), PaginationConfig={"PageSize": 3})
        assert pages == 3 and named(events) == MANAGEMENT_LOG

    def test_each_account_its_own(self, told):
        server, _ = told
        assert named(paged(cloudtrail(server, ALICE))[1]) == [
            "AcceptHandshake!HandshakeAlreadyInStateException", "AcceptHandshake"]
        assert named(paged(cloudtrail(server, BOB))[1]) == ["AcceptHandshake!InvalidHandshakeTransitionException",
                                                            "DeclineHandshake"]
        assert paged(cloudtrail(server, OUTSIDER))[1] == []

    def test_a_record_says_who_called_from_where_with_what(self, told):
        server, marks = told
        (event,) = cloudtrail(server, BOB).lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "DeclineHandshake"}])["Events"]
        record = json.loads(event["CloudTrailEvent"])
        assert record["userIdentity"] == {"type": "Root", "principalId": BOB, "arn": f"arn:aws:iam::{BOB}:root",
                                          "accountId": BOB, "accessKeyId": BOB}
        assert (record["sourceIPAddress"], record["requestParameters"]) == ("127.0.0.1", {"handshakeId": marks["bob"]})
        assert record["userAgent"].startswith("Boto3/") and record["responseElements"]["handshake"]["state"] == "DECLINED"

    def test_as_of_an_instant_the_history_as_it_stood(self, told):
        server, _ = told
        with open_ledger(server.data) as ledger:
            refused = next(c for c in ledger.app.recorder.select_calls() if c.error_code == "AccessDeniedException")
        instant = refused.event_time.isoformat().replace("+00:00", "Z")
        then = cloudtrail(server, MANAGEMENT, path=f"/as-of/{instant}")
        assert named(paged(then, PaginationConfig={"PageSize": 1})[1]) == MANAGEMENT_LOG[4:]
        before = cloudtrail(server, MANAGEMENT, path=f"/as-of/{(refused.event_time - timedelta(microseconds=1)).isoformat()}")
        assert named(paged(before)[1]) == MANAGEMENT_LOG[5:]

    def test_a_bad_request_is_a_400_with_cloudtrails_error(self, told):
        server, _ = told
        body = json.dumps({"MaxResults": 51}).encode()
        status, headers, answer = post(server.port, None, body, headers={"X-Amz-Target": TARGET_PREFIX + "LookupEvents"})
        assert (status, answer["__type"]) == (400, "InvalidMaxResultsException") and headers["x-amzn-requestid"]


class TestAwsCli:
    def test_lookup_events_follows_every_page(self, told):
        server, _ = told
        done = aws(server, MANAGEMENT, "cloudtrail", "lookup-events", "--page-size", "2")
        assert done.returncode == 0, done.stderr
        assert named(json.loads(done.stdout)["Events"]) == MANAGEMENT_LOG

    def test_max_items_and_starting_token(self, told):
        server, _ = told
        first = aws(server, MANAGEMENT, "cloudtrail", "lookup-events", "--max-items", "5", "--page-size", "2")
        assert first.returncode == 0, first.stderr
        page = json.loads(first.stdout)
        rest = aws(server, MANAGEMENT, "cloudtrail", "lookup-events", "--starting-token", page["NextToken"])
        assert rest.returncode == 0, rest.stderr
        assert named(page["Events"] + json.loads(rest.stdout)["Events"]) == MANAGEMENT_LOG

    def test_lookup_attributes_and_time_range(self, told):
        server, marks = told
        done = aws(server, ALICE, "cloudtrail", "lookup-events", "--lookup-attributes",
                   f"AttributeKey=ResourceName,AttributeValue={marks['alice']}", "--start-time", "2000-01-01T00:00:00Z",
                   "--end-time", "2100-01-01", "--query", "Events[].[EventName,Username,Resources[0].ResourceType]",
                   "--output", "text")
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == ["AcceptHandshake\troot\tAWS::Organizations::Handshake"] * 2

    def test_a_refusal_is_the_clis_error(self, told):
        server, _ = told
        done = aws(server, MANAGEMENT, "cloudtrail", "lookup-events", "--lookup-attributes",
                   "AttributeKey=EventName,AttributeValue=A", "AttributeKey=EventName,AttributeValue=B")
        assert done.returncode == 255 and "(InvalidLookupAttributesException)" in done.stderr  # v1's service error


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("strict-cloudtrail")
    accounts = write_accounts(base / "accounts.toml", {MANAGEMENT: [("AKIAMANAGEMENT000001", "s3cr3t")]})
    server = Server(base / "data", accounts=accounts, strict=True).start()
    yield server
    assert server.stop() == 0


class TestStrict:
    def test_a_signed_lookup_passes_and_names_the_key(self, strict):
        strict.client("AKIAMANAGEMENT000001", "s3cr3t").create_organization(FeatureSet="ALL")
        events = cloudtrail(strict, "AKIAMANAGEMENT000001", "s3cr3t").lookup_events()["Events"]
        # the call, and the service event AWS records of it (AccountJoinedOrganization, decision 29)
        assert sorted(e["EventName"] for e in events) == ["AccountJoinedOrganization", "CreateOrganization"]
        (event,) = [e for e in events if e["EventName"] == "CreateOrganization"]
        assert (event["EventName"], event["AccessKeyId"]) == ("CreateOrganization", "AKIAMANAGEMENT000001")

    def test_a_wrong_secret_or_a_signature_for_organizations_is_refused(self, strict):
        with pytest.raises(cloudtrail(strict, "AKIAMANAGEMENT000001").exceptions.ClientError) as wrong:
            cloudtrail(strict, "AKIAMANAGEMENT000001", "not-it").lookup_events()
        assert wrong.value.response["Error"]["Code"] == "InvalidSignatureException"
        request = AWSRequest(method="POST", url=strict.url + "/", data=b"{}",
                             headers={"Content-Type": "application/x-amz-json-1.1",
                                      "X-Amz-Target": TARGET_PREFIX + "LookupEvents"})
        SigV4Auth(Credentials("AKIAMANAGEMENT000001", "s3cr3t"), "organizations", "us-east-1").add_auth(request)
        status, _, answer = post(strict.port, None, b"{}", headers=dict(request.headers.items()))
        assert (status, answer["__type"]) == (403, "InvalidSignatureException")
        assert answer["Message"] == "Credential should be scoped to correct service: 'cloudtrail'."
