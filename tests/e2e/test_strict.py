"""``serve --strict``: signatures verified with botocore's own signer against the accounts file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

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


def signed(server: Server, key: tuple[str, str], body: bytes, region: str = "us-east-1") -> dict[str, str]:
    """Headers of a ListHandshakesForAccount request signed by botocore for ``body``."""
    request = AWSRequest(method="POST", url=server.url + "/", data=body, headers={
        "X-Amz-Target": TARGET + "ListHandshakesForAccount", "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(Credentials(*key), "organizations", region).add_auth(request)
    return dict(request.headers.items())


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
