"""What the AWS API answers, to check the UI against: boto3 through the server, live or through
its ``/as-of/<instant>`` prefix."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import boto3
from botocore.exceptions import ClientError

from tests.e2e.conftest import NO_RETRIES, Server

DEMO_MANAGEMENTS = [f"{100000000001 + n:012d}" for n in range(6)]


def client(server: Server, key: str, instant: str | None = None, secret: str = "x") -> Any:
    """A boto3 client; ``key``: an account id (lenient servers) or an access key id of the accounts file."""
    endpoint = server.url + (f"/as-of/{instant}" if instant else "")
    return boto3.client("organizations", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=key,
                        aws_secret_access_key=secret, config=NO_RETRIES)


def listed(server: Server, key: str, operation: str, instant: str | None = None,
           secret: str = "x") -> list[dict[str, Any]]:
    """Every page of one List operation; [] where the caller may not call it."""
    try:
        pages = client(server, key, instant, secret).get_paginator(operation).paginate()
        return [shape for page in pages for shape in page["Handshakes"]]
    except ClientError as error:
        if error.response["Error"]["Code"] in ("AccessDeniedException", "AWSOrganizationsNotInUseException"):
            return []
        raise


def newest_first(shapes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Lists' order (decision 17), duplicates dropped."""
    unique = {shape["Id"]: shape for shape in shapes}
    return sorted(unique.values(), key=lambda s: (s["RequestedTimestamp"], s["Id"]), reverse=True)


def whole_ledger(server: Server, instant: str | None = None) -> list[dict[str, Any]]:
    """The handshakes of every demo organization, as their management accounts' Lists answer."""
    return newest_first([shape for account in DEMO_MANAGEMENTS
                         for shape in listed(server, account, "list_handshakes_for_organization", instant)])


def seen_by(server: Server, key: str, secret: str) -> list[dict[str, Any]]:
    """What one caller may see: its ListHandshakesForAccount and ListHandshakesForOrganization."""
    return newest_first(listed(server, key, "list_handshakes_for_account", secret=secret)
                        + listed(server, key, "list_handshakes_for_organization", secret=secret))


def when(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%d %H:%M:%SZ")


def organization_of(server: Server, account: str) -> str:
    return client(server, account).describe_organization()["Organization"]["Id"]
