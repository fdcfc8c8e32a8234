"""AWS Organizations as it is today, each example as written, through boto3 over HTTP and
in-process, on the store under test."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from ledger import open_ledger
from tests.e2e.conftest import Server

A_MANAGER, B_MANAGER, MEMBER = "111111111111", "555555555555", "222222222222"
LIMITS = {"HANDSHAKE_LEDGER_ACCOUNT_LIMIT": "30", "HANDSHAKE_LEDGER_INVITE_RATE_LIMIT": "20"}


@pytest.fixture(params=["http", "in-process"])
def clients(request: Any, data_location: str, tmp_path: Any) -> Iterator[Callable[[str], Any]]:
    """boto3 clients by account: against the real server, or answered in-process."""
    if request.param == "http":
        server = Server(data_location, env=LIMITS).start()
        yield server.client
        assert server.stop() == 0
    else:
        from ledger.service_layer.application import Limits

        with open_ledger(data_location, limits=Limits(accounts_per_organization=30, invitations_per_day=20)) as ledger:
            yield ledger.client


def invite(client: Any, account: str) -> str:
    return str(client.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": account})["Handshake"]["Id"])


def member_ids(client: Any) -> list[str]:
    return [a["Id"] for page in client.get_paginator("list_accounts").paginate() for a in page["Accounts"]]


def test_a_member_moves_to_the_organization_that_invited_it(clients: Callable[[str], Any]) -> None:
    """M is a member of A; B invites M; M accepts: ACCEPTED, M in B's ListAccounts and gone from A's."""
    a, b, member = clients(A_MANAGER), clients(B_MANAGER), clients(MEMBER)
    a.create_organization()
    b_id = b.create_organization()["Organization"]["Id"]
    member.accept_handshake(HandshakeId=invite(a, MEMBER))
    answer = member.accept_handshake(HandshakeId=invite(b, MEMBER))
    assert answer["Handshake"]["State"] == "ACCEPTED"
    assert MEMBER in member_ids(b) and MEMBER not in member_ids(a)
    assert member.describe_organization()["Organization"]["Id"] == b_id


def test_an_accepted_invitation_frees_its_place_in_the_daily_quota(clients: Callable[[str], Any]) -> None:
    """19 sent and canceled, a 20th sent and accepted, then a 21st: OPEN."""
    a = clients(A_MANAGER)
    a.create_organization()
    for n in range(19):
        a.cancel_handshake(HandshakeId=invite(a, f"6000000000{n:02d}"))
    clients(MEMBER).accept_handshake(HandshakeId=invite(a, MEMBER))
    assert a.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": "333333333333"})[
        "Handshake"]["State"] == "OPEN"


def test_the_default_email_of_an_account_reaches_it(clients: Callable[[str], Any]) -> None:
    """An organization invites the EMAIL ListAccounts shows: its owner accepts (or declines) it."""
    a, member = clients(A_MANAGER), clients(MEMBER)
    a.create_organization()
    email = a.describe_organization()["Organization"]["MasterAccountEmail"].replace(A_MANAGER, MEMBER)
    handshake_id = a.invite_account_to_organization(Target={"Type": "EMAIL", "Id": email})["Handshake"]["Id"]
    assert member.describe_handshake(HandshakeId=handshake_id)["Handshake"]["State"] == "OPEN"
    accepted = member.accept_handshake(HandshakeId=handshake_id)["Handshake"]
    assert {"Type": "ACCOUNT", "Value": MEMBER} in accepted["Resources"]
    listed = {account["Id"]: account["Email"] for account in a.list_accounts()["Accounts"]}
    assert listed[MEMBER] == email
