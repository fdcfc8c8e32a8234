"""STS GetCallerIdentity on the ledger's endpoint (AWS Query protocol, XML), through botocore's own
``sts`` client: lenient (the in-process client) and strict (the same SigV4 checks, signing service ``sts``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import botocore.session
import pytest
from botocore.exceptions import ClientError

from ledger import open_ledger
from ledger.entrypoints.accounts import AccountsFileError, load_accounts
from ledger.entrypoints.aws_json import AwsJsonService
from ledger.entrypoints.client import ENDPOINT, NO_RETRIES, InProcessSender
from ledger.entrypoints.identity import Identity, SignedRequest
from tests.acceptance.conftest import World
from tests.conftest import ALICE, MANAGEMENT

ACCOUNTS = f"""
[[accounts]]
id = "{MANAGEMENT}"
[[accounts.keys]]
access_key_id = "AKIAROOTKEY000000001"
secret_access_key = "root-secret"

[[accounts]]
id = "{ALICE}"
[[accounts.keys]]
access_key_id = "AKIADEPLOYKEY0000001"
secret_access_key = "deploy-secret"
user = "deploy"
"""


def test_the_in_process_client_is_the_account_root(world: World) -> None:
    answer = world.ledger.client(ALICE, "sts").get_caller_identity()
    assert (answer["Account"], answer["Arn"], answer["UserId"]) == (ALICE, f"arn:aws:iam::{ALICE}:root", ALICE)
    assert answer["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "text/xml"
    assert answer["ResponseMetadata"]["RequestId"] == answer["ResponseMetadata"]["HTTPHeaders"]["x-amzn-requestid"]


def test_the_past_knows_who_calls_too(world: World) -> None:
    world.days(1)
    past = world.ledger.at("-1h")
    assert past.client(MANAGEMENT, "sts").get_caller_identity()["Account"] == MANAGEMENT


@pytest.fixture
def strict(tmp_path: Path) -> Iterator[tuple[Any, AwsJsonService]]:
    path = tmp_path / "accounts.toml"
    path.write_text(ACCOUNTS)
    with open_ledger(":memory:") as ledger:
        yield ledger, AwsJsonService(ledger, Identity(load_accounts(path), strict=True, clock=ledger.clock))


def sts_client(service: AwsJsonService, key_id: str, secret: str, name: str = "sts") -> Any:
    client = botocore.session.get_session().create_client(
        name, region_name="us-east-1", endpoint_url=ENDPOINT, aws_access_key_id=key_id,
        aws_secret_access_key=secret, config=NO_RETRIES)
    client.meta.events.register(f"before-send.{client.meta.service_model.service_id.hyphenize()}",
                                InProcessSender(service))
    return client


def refusal(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def test_strict_names_the_keys_user_or_the_root(strict: tuple[Any, AwsJsonService]) -> None:
    _, service = strict
    root = sts_client(service, "AKIAROOTKEY000000001", "root-secret").get_caller_identity()
    assert (root["Account"], root["Arn"], root["UserId"]) == (MANAGEMENT, f"arn:aws:iam::{MANAGEMENT}:root", MANAGEMENT)
    user = sts_client(service, "AKIADEPLOYKEY0000001", "deploy-secret").get_caller_identity()
    assert (user["Account"], user["Arn"]) == (ALICE, f"arn:aws:iam::{ALICE}:user/deploy")
    assert user["UserId"].startswith("AIDA") and len(user["UserId"]) == 21 and user["UserId"].isalnum()
    again = sts_client(service, "AKIADEPLOYKEY0000001", "deploy-secret").get_caller_identity()
    assert again["UserId"] == user["UserId"]  # stable


def test_strict_refuses_as_sts_does(strict: tuple[Any, AwsJsonService]) -> None:
    _, service = strict
    assert refusal(sts_client(service, "AKIAUNKNOWN000000001", "x").get_caller_identity) == (
        403, "InvalidClientTokenId", "The security token included in the request is invalid.")
    status, code, _ = refusal(sts_client(service, "AKIAROOTKEY000000001", "wrong").get_caller_identity)
    assert (status, code) == (403, "SignatureDoesNotMatch")


def test_a_signature_for_another_service_is_refused(strict: tuple[Any, AwsJsonService]) -> None:
    """A request signed for ``organizations`` doesn't pass as STS's (and the other way round)."""
    _, service = strict
    client = sts_client(service, "AKIAROOTKEY000000001", "root-secret")
    client.meta.events.register("before-sign.sts", lambda request, **_: None)
    client._request_signer._signing_name = "organizations"  # what a misconfigured SDK would sign
    status, code, message = refusal(client.get_caller_identity)
    assert (status, code, message) == (403, "SignatureDoesNotMatch",
                                       "Credential should be scoped to correct service: 'sts'.")


def raw(service: AwsJsonService, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, str]:
    sent = {"content-type": "application/x-www-form-urlencoded; charset=utf-8", **(headers or {})}
    answer = service.handle(SignedRequest("POST", "/", sent, body))
    assert answer.headers["Content-Type"] == "text/xml"
    return answer.status, answer.body.decode()


def test_unsigned_and_unknown_actions(strict: tuple[Any, AwsJsonService]) -> None:
    ledger, service = strict
    status, body = raw(service, b"Action=GetCallerIdentity&Version=2011-06-15")
    assert status == 403 and "<Code>MissingAuthenticationToken</Code>" in body and body.startswith("<ErrorResponse")
    lenient = AwsJsonService(ledger, Identity(load_accounts(None)))
    status, body = raw(lenient, b"Action=GetCallerIdentity&Version=2011-06-15")
    assert status == 200 and "<Account>000000000000</Account>" in body  # decision 4's default account
    status, body = raw(lenient, b"Action=AssumeRole&Version=2011-06-15")
    assert status == 400 and "<Code>InvalidAction</Code>" in body and "GetCallerIdentity" in body
    status, body = raw(lenient, b"Action=GetCallerIdentity&Version=2099-01-01")
    assert status == 400 and "<Code>InvalidAction</Code>" in body
    status, body = raw(lenient, b"Version=2011-06-15")
    assert status == 400 and "<Code>MissingAction</Code>" in body
    status, body = raw(lenient, b"Action=GetCallerIdentity&Version=2011-06-15&\xff")
    assert status == 400 and "<Code>MalformedQueryString</Code>" in body


def test_organizations_json_is_unchanged_beside_it(world: World) -> None:
    assert world.mgmt.describe_organization()["Organization"]["Id"] == world.org_id


def test_an_iam_user_name_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "accounts.toml"
    path.write_text(ACCOUNTS.replace('user = "deploy"', 'user = "no spaces"'))
    with pytest.raises(AccountsFileError, match="'user' must be an IAM user name"):
        load_accounts(path)
