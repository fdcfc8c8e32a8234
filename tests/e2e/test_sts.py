"""STS GetCallerIdentity on the server's one endpoint, by boto3 and the AWS CLI unchanged, lenient and strict."""

from __future__ import annotations

import http.client
import json
from typing import Any, Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import ALICE, MANAGEMENT
from tests.e2e.conftest import ALICE_KEY, NO_RETRIES, Server, write_accounts
from tests.e2e.test_aws_cli import aws

DEPLOY_KEY = ("AKIADEPLOYEXAMPLE001", "deploy-secret")


def sts(server: Server, key_id: str, secret: str = "x") -> Any:
    return boto3.client("sts", endpoint_url=server.url, region_name="us-east-1", aws_access_key_id=key_id,
                        aws_secret_access_key=secret, config=NO_RETRIES)


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    base = tmp_path_factory.mktemp("sts-strict")
    accounts = write_accounts(base / "accounts.toml", {ALICE: [ALICE_KEY]})
    with accounts.open("a") as file:  # a key of Alice's IAM user "deploy"
        file.write(f'\n[[accounts]]\nid = "555555555555"\n\n[[accounts.keys]]\naccess_key_id = "{DEPLOY_KEY[0]}"\n'
                   f'secret_access_key = "{DEPLOY_KEY[1]}"\nuser = "deploy"\n')
    running = Server(base / "data", accounts=accounts, strict=True).start()
    yield running
    assert running.stop() == 0


def test_boto3_lenient(server: Server) -> None:
    answer = sts(server, MANAGEMENT).get_caller_identity()
    assert (answer["Account"], answer["Arn"], answer["UserId"]) == (MANAGEMENT, f"arn:aws:iam::{MANAGEMENT}:root",
                                                                    MANAGEMENT)
    assert sts(server, ALICE_KEY[0]).get_caller_identity()["Account"] == ALICE  # a key of the accounts file


def test_boto3_strict(strict: Server) -> None:
    answer = sts(strict, *ALICE_KEY).get_caller_identity()
    assert (answer["Account"], answer["Arn"]) == (ALICE, f"arn:aws:iam::{ALICE}:root")
    deploy = sts(strict, *DEPLOY_KEY).get_caller_identity()
    assert (deploy["Account"], deploy["Arn"]) == ("555555555555", "arn:aws:iam::555555555555:user/deploy")
    assert deploy["UserId"].startswith("AIDA")
    with pytest.raises(ClientError) as caught:
        sts(strict, ALICE_KEY[0], "wrong-secret").get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    with pytest.raises(ClientError) as caught:
        sts(strict, "AKIANOBODY0000000001").get_caller_identity()
    assert caught.value.response["Error"]["Code"] == "InvalidClientTokenId"


def test_organizations_in_strict_mode_is_unchanged(strict: Server) -> None:
    client = strict.client(ALICE_KEY[0], ALICE_KEY[1])
    with pytest.raises(client.exceptions.AWSOrganizationsNotInUseException):
        client.describe_organization()


def test_aws_cli_lenient(server: Server) -> None:
    done = aws(server, ALICE, "sts", "get-caller-identity")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"UserId": ALICE, "Account": ALICE, "Arn": f"arn:aws:iam::{ALICE}:root"}


def test_aws_cli_strict(strict: Server) -> None:
    done = aws(strict, DEPLOY_KEY[0], "sts", "get-caller-identity", secret=DEPLOY_KEY[1])
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["Account"], answer["Arn"]) == ("555555555555", "arn:aws:iam::555555555555:user/deploy")
    refused = aws(strict, DEPLOY_KEY[0], "sts", "get-caller-identity")  # the wrong secret
    assert refused.returncode != 0 and "SignatureDoesNotMatch" in refused.stderr


def test_a_form_post_without_signature(strict: Server, server: Server) -> None:
    """The raw wire: XML, text/xml, the request id in the body and the header alike."""
    for running, status, marker in ((strict, 403, "<Code>MissingAuthenticationToken</Code>"),
                                    (server, 200, "<Account>000000000000</Account>")):
        connection = http.client.HTTPConnection("127.0.0.1", running.port, timeout=10)
        connection.request("POST", "/", body=b"Action=GetCallerIdentity&Version=2011-06-15",
                           headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
        response = connection.getresponse()
        body = response.read().decode()
        connection.close()
        assert (response.status, response.getheader("Content-Type")) == (status, "text/xml")
        assert marker in body and f"<RequestId>{response.getheader('x-amzn-RequestId')}</RequestId>" in body

