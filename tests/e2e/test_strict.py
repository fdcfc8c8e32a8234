"""``serve --strict``: signatures verified with botocore's own signer against the accounts file,
and refused as AWS refuses them (decision 4): an X-Amz-Date more than 15 minutes away, or an
``x-amz-*`` header (``x-amz-target`` above all), ``host`` or ``x-amz-date`` left out of SignedHeaders."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from freezegun import freeze_time

from ledger import open_ledger
from ledger.domain.clock import system_clock
from tests.conftest import ALICE, BOB, MANAGEMENT
from tests.e2e.conftest import TARGET, Server, post, write_accounts

MANAGEMENT_KEY = ("AKIAMANAGEMENT000001", "management-secret")
ALICE_KEY = (ALICE, "alice-secret")


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("strict")
    accounts = write_accounts(base / "accounts.toml", {MANAGEMENT: [MANAGEMENT_KEY], ALICE: [ALICE_KEY]})
    running = Server(base / "data", accounts=accounts, strict=True).start()
    yield running
    assert running.stop() == 0


def refusal(call: Any) -> tuple[int, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response  # protocol errors are not modeled: no top-level Message
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"]


def signed(server: Server, key: tuple[str, str], body: bytes, region: str = "us-east-1",
           operation: str | None = "ListHandshakesForAccount", age: timedelta = timedelta()) -> dict[str, str]:
    """Headers of a request signed by botocore for ``body``, ``age`` ago (X-Amz-Target signed unless None)."""
    headers = {"Content-Type": "application/x-amz-json-1.1"}
    if operation is not None:
        headers["X-Amz-Target"] = TARGET + operation
    request = AWSRequest(method="POST", url=server.url + "/", data=body, headers=headers)
    with freeze_time(system_clock.now() - age):
        SigV4Auth(Credentials(*key), "organizations", region).add_auth(request)
    return dict(request.headers.items())


def log_head(server: Server) -> int:
    with open_ledger(server.data) as ledger:
        return ledger.app.recorder.max_notification_id() or 0


class TestSignatures:
    @pytest.mark.parametrize("region", ["us-east-1", "eu-west-1", "ap-southeast-2"])
    def test_a_correct_signature_passes_in_any_region(self, strict: Server, region: str) -> None:
        client = strict.client(MANAGEMENT_KEY[0], MANAGEMENT_KEY[1], region=region)
        assert client.list_handshakes_for_account()["Handshakes"] == []

    def test_the_key_names_its_configured_account(self, strict: Server) -> None:
        management = strict.client(*MANAGEMENT_KEY)
        organization = management.create_organization(FeatureSet="CONSOLIDATED_BILLING")["Organization"]
        try:
            assert organization["MasterAccountId"] == MANAGEMENT
            handshake = management.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]
            alice = strict.client(*ALICE_KEY)
            assert alice.decline_handshake(HandshakeId=handshake["Id"])["Handshake"]["State"] == "DECLINED"
        finally:
            management.delete_organization()

    def test_a_wrong_secret_is_an_invalid_signature(self, strict: Server) -> None:
        client = strict.client(MANAGEMENT_KEY[0], "not-the-secret")
        assert refusal(client.list_handshakes_for_account) == (403, "InvalidSignatureException")

    def test_an_unknown_key_is_unrecognized(self, strict: Server) -> None:
        client = strict.client("AKIANOBODYKNOWSTHIS0", "whatever")
        assert refusal(client.list_handshakes_for_account) == (403, "UnrecognizedClientException")

    def test_an_account_id_without_a_configured_key_is_unrecognized(self, strict: Server) -> None:
        assert refusal(strict.client(BOB).list_handshakes_for_account) == (403, "UnrecognizedClientException")

    def test_an_unsigned_request_is_unrecognized(self, strict: Server) -> None:
        status, _, body = post(strict.port, "ListHandshakesForAccount", b"{}", headers={"Authorization": ""})
        assert (status, body["__type"]) == (403, "UnrecognizedClientException")


class TestTampering:
    def test_the_signed_body_passes(self, strict: Server) -> None:
        body = json.dumps({"MaxResults": 5}).encode()
        status, _, answer = post(strict.port, None, body, headers=signed(strict, MANAGEMENT_KEY, body))
        assert (status, answer) == (200, {"Handshakes": []})

    def test_another_body_under_the_same_signature_is_refused(self, strict: Server) -> None:
        headers = signed(strict, MANAGEMENT_KEY, json.dumps({"MaxResults": 5}).encode())
        status, _, answer = post(strict.port, None, json.dumps({"MaxResults": 6}).encode(), headers=headers)
        assert (status, answer["__type"]) == (403, "InvalidSignatureException")

    def test_a_signature_for_another_service_is_refused(self, strict: Server) -> None:
        body = b"{}"
        headers = signed(strict, MANAGEMENT_KEY, body)
        headers["Authorization"] = headers["Authorization"].replace("/organizations/", "/dynamodb/")
        status, _, answer = post(strict.port, None, body, headers=headers)
        assert (status, answer["__type"]) == (403, "InvalidSignatureException")


class TestReplays:
    """A captured request is good for 15 minutes, for the operation it was signed for."""

    @pytest.mark.parametrize(("age", "words"), [
        (timedelta(minutes=16), "Signature expired"), (timedelta(hours=1), "Signature expired"),
        (timedelta(days=1), "Signature expired"), (timedelta(days=365), "Signature expired"),
        (timedelta(days=-1), "Signature not yet current"), (timedelta(minutes=-16), "Signature not yet current"),
    ], ids=["16-min-old", "1-hour-old", "1-day-old", "1-year-old", "1-day-ahead", "16-min-ahead"])
    def test_a_signature_far_from_the_servers_clock_is_refused(self, strict: Server, age: timedelta,
                                                                 words: str) -> None:
        body = b"{}"
        status, headers, answer = post(strict.port, None, body, headers=signed(strict, MANAGEMENT_KEY, body, age=age))
        assert (status, answer["__type"]) == (403, "InvalidSignatureException")
        assert answer["Message"].startswith(words) and "15 min" in answer["Message"]
        assert headers["x-amzn-requestid"]

    @pytest.mark.parametrize("age", [timedelta(minutes=14), timedelta(minutes=-14)], ids=["14-min-old", "14-min-ahead"])
    def test_a_signature_within_15_minutes_passes(self, strict: Server, age: timedelta) -> None:
        body = b"{}"
        status, _, answer = post(strict.port, None, body, headers=signed(strict, MANAGEMENT_KEY, body, age=age))
        assert (status, answer) == (200, {"Handshakes": []})

    def test_an_unsigned_target_is_refused(self, strict: Server) -> None:
        body = b"{}"
        headers = {**signed(strict, MANAGEMENT_KEY, body, operation=None), "X-Amz-Target": TARGET + "ListHandshakesForAccount"}
        status, _, answer = post(strict.port, None, body, headers=headers)
        assert (status, answer["__type"]) == (403, "InvalidSignatureException")
        assert "'x-amz-target' must be in SignedHeaders" in answer["Message"]

    @pytest.mark.parametrize("header", ["X-Amz-Security-Token", "X-Amz-Anything"])
    def test_any_unsigned_x_amz_header_is_refused(self, strict: Server, header: str) -> None:
        body = b"{}"
        headers = {**signed(strict, MANAGEMENT_KEY, body), header: "added later"}
        status, _, answer = post(strict.port, None, body, headers=headers)
        assert (status, answer["__type"]) == (403, "InvalidSignatureException")
        assert f"'{header.lower()}' must be in SignedHeaders" in answer["Message"]

    @pytest.mark.parametrize("left_out", ["host", "x-amz-date"])
    def test_host_and_date_must_be_signed(self, strict: Server, left_out: str) -> None:
        body = b"{}"
        headers = signed(strict, MANAGEMENT_KEY, body)
        headers["Authorization"] = headers["Authorization"].replace(f"{left_out};", "").replace(f";{left_out}", "")
        status, _, answer = post(strict.port, None, body, headers=headers)
        assert (status, answer["__type"]) == (403, "InvalidSignatureException")
        assert f"'{left_out}' must be in SignedHeaders" in answer["Message"]

    def test_a_describe_replayed_as_a_decline_records_nothing(self, strict: Server) -> None:
        management, alice = strict.client(*MANAGEMENT_KEY), strict.client(*ALICE_KEY)
        management.create_organization(FeatureSet="CONSOLIDATED_BILLING")
        try:
            handshake_id = management.invite_account_to_organization(
                Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]["Id"]
            body = json.dumps({"HandshakeId": handshake_id}).encode()
            captured = signed(strict, ALICE_KEY, body, operation=None)  # a describe whose target went unsigned
            before = log_head(strict)
            status, _, answer = post(strict.port, None, body,
                                     headers={**captured, "X-Amz-Target": TARGET + "DeclineHandshake"})
            assert (status, answer["__type"]) == (403, "InvalidSignatureException")
            assert log_head(strict) == before
            assert alice.describe_handshake(HandshakeId=handshake_id)["Handshake"]["State"] == "OPEN"
            management.cancel_handshake(HandshakeId=handshake_id)
        finally:
            management.delete_organization()

    def test_the_window_follows_the_servers_clock(self, tmp_path: Path) -> None:
        """A server a day ahead (faketime) refuses what is signed now: the clock is the server's."""
        accounts = write_accounts(tmp_path / "accounts.toml", {MANAGEMENT: [MANAGEMENT_KEY]})
        ahead = Server(tmp_path / "data", accounts=accounts, strict=True).start(faketime="+1d")
        try:
            with pytest.raises(ClientError) as caught:
                ahead.client(*MANAGEMENT_KEY).list_handshakes_for_account()
            assert caught.value.response["Error"]["Code"] == "InvalidSignatureException"
            assert "Signature expired" in caught.value.response["Error"]["Message"]
        finally:
            assert ahead.stop() == 0


def test_strict_without_an_accounts_file_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="exited with 2"):
        Server(tmp_path / "data", strict=True).start()


@pytest.mark.parametrize("text", [
    '[[accounts]]\nid = "12345"\n',
    "[[accounts]\n",
    '[[accounts]]\nid = "111111111111"\n[[accounts.keys]]\naccess_key_id = "AKIAX"\n',
    '[[accounts]]\nid = "111111111111"\nemail = "a@example.com"\n[[accounts]]\nid = "222222222222"\nemail = "A@example.com"\n',
], ids=["short-id", "broken-toml", "key-without-secret", "email-twice"])
def test_an_unusable_accounts_file_refuses_to_start(tmp_path: Path, text: str) -> None:
    (tmp_path / "accounts.toml").write_text(text)
    with pytest.raises(RuntimeError, match="exited with 2"):
        Server(tmp_path / "data", accounts=tmp_path / "accounts.toml").start()
