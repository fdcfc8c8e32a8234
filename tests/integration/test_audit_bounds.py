"""What a record keeps of what a caller sent, on both stores: any nesting, any size, and every
authenticated call recorded (docs/decisions.md on the audit; ledger/service_layer/audit.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import open_ledger
from ledger.entrypoints.accounts import Accounts
from ledger.entrypoints.aws_json import TARGET_PREFIX, AwsJsonService
from ledger.entrypoints.cloudtrail import TARGET_PREFIX as CLOUDTRAIL
from ledger.entrypoints.cloudtrail.export import export
from ledger.entrypoints.identity import Identity, SignedRequest
from ledger.service_layer.audit import MAX_ELEMENTS_BYTES, MAX_ELEMENTS_DEPTH
from tests.conftest import ALICE, MANAGEMENT


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.conftest import new_location

    with new_location(tmp_path_factory.mktemp("bounds")) as location, open_ledger(location) as opened:
        opened.client(MANAGEMENT).create_organization(FeatureSet="ALL")
        yield opened


def send(ledger: Any, operation: str, body: bytes, account: str = MANAGEMENT, *, path: str = "/",
         target: str = TARGET_PREFIX) -> tuple[int, dict[str, Any]]:
    """One signed call as the wire carries it (the non-strict identity: the key names the account)."""
    service = "cloudtrail" if target == CLOUDTRAIL else "organizations"
    headers = {"x-amz-target": target + operation,
               "authorization": f"AWS4-HMAC-SHA256 Credential={account}/20260101/us-east-1/{service}/aws4_request, "
                                "SignedHeaders=host, Signature=0"}
    answer = AwsJsonService(ledger, Identity(Accounts())).handle(SignedRequest("POST", path, headers, body))
    return answer.status, json.loads(answer.body)


def last_record(ledger: Any, account: str = MANAGEMENT) -> dict[str, Any]:
    status, answer = send(ledger, "LookupEvents", b'{"MaxResults": 1}', account, target=CLOUDTRAIL)
    assert status == 200, answer
    return json.loads(answer["Events"][0]["CloudTrailEvent"])  # type: ignore[no-any-return]


def nest(path: list[str]) -> Any:
    """A value nested along ``path``: "d" a one-member object, "l" a one-item list."""
    value: Any = "x"
    for step in reversed(path):
        value = {"a": value} if step == "d" else [value]
    return value


class TestNesting:
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(path=st.one_of(st.lists(st.sampled_from("dl"), min_size=0, max_size=60),
                          st.integers(60, 1200).flatmap(lambda n: st.lists(st.sampled_from("dl"), min_size=n,
                                                                           max_size=n))))
    def test_any_nesting_is_recorded_and_read_back(self, ledger, tmp_path_factory, path):
        body = json.dumps({"Target": nest(path)}).encode()
        status, refusal = send(ledger, "InviteAccountToOrganization", body)
        assert status == 400, refusal
        record = last_record(ledger)
        assert record["errorCode"] == refusal["__type"]
        if record["requestParameters"] is not None:
            assert len(path) + 1 <= MAX_ELEMENTS_DEPTH and "omitted" not in record
            assert record["requestParameters"]["target"] == nest(path)
        else:
            assert record.get("omitted") is True or refusal["__type"] == "SerializationException"
        done = export(ledger.trail, tmp_path_factory.mktemp("export"))
        assert done.records > 0

    def test_the_issue_example_nine_hundred_levels(self, ledger, tmp_path):
        body = b'{"HandshakeId": ' + b'{"a": ' * 900 + b'1' + b'}' * 900 + b'}'
        assert send(ledger, "DeclineHandshake", body)[0] == 400
        record = last_record(ledger)
        assert (record["eventName"], record["requestParameters"], record["omitted"]) == ("DeclineHandshake", None, True)
        assert export(ledger.trail, tmp_path).records > 0


class TestSize:
    def test_a_megabyte_body_is_not_kept(self, ledger):
        body = json.dumps({"Target": {"Type": "ACCOUNT", "Id": ALICE}, "Notes": "n" * 1_000_000}).encode()
        status, refusal = send(ledger, "InviteAccountToOrganization", body)
        assert status == 400
        record = last_record(ledger)
        assert (record["errorCode"], record["requestParameters"], record["omitted"]) == \
            (refusal["__type"], None, True)
        stored = ledger.app.recorder.select_calls("request_id = ?", [record["requestID"]])
        assert stored[0].request_parameters is None
        assert len(json.dumps(record)) < 10_000

    def test_up_to_the_bound_is_kept_whole(self, ledger):
        notes = "n" * (MAX_ELEMENTS_BYTES - 200)
        body = json.dumps({"Target": {"Type": "ACCOUNT", "Id": ALICE}, "Notes": notes}).encode()
        assert send(ledger, "InviteAccountToOrganization", body)[0] == 400  # Notes is 1,024 characters at most
        record = last_record(ledger)
        assert record["requestParameters"]["notes"] == notes and "omitted" not in record
