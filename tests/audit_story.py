"""One story of accepted and refused calls, told the same way in-process or to a real server.

A minute a step (when a clock is given), from T0, with an organization of at most 3 accounts:

    12:00  MANAGEMENT  CreateOrganization
    12:01  MANAGEMENT  InviteAccountToOrganization ALICE   -> "alice"
    12:02  MANAGEMENT  InviteAccountToOrganization BOB     -> "bob"
    12:03  MANAGEMENT  AcceptHandshake alice               AccessDeniedException (the sender)
    12:04  ALICE       AcceptHandshake alice               joins: AccountJoinedOrganization
    12:05  ALICE       AcceptHandshake alice               HandshakeAlreadyInStateException
    12:06  MANAGEMENT  InviteAccountToOrganization OUTSIDER HandshakeConstraintViolationException (3 accounts)
    12:07  BOB         DeclineHandshake bob
    12:08  BOB         AcceptHandshake bob                 InvalidHandshakeTransitionException (declined)
    12:09  MANAGEMENT  RemoveAccountFromOrganization ALICE AccountDepartedOrganization
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from botocore.exceptions import ClientError

from ledger.service_layer.application import Limits
from tests.conftest import ALICE, BOB, MANAGEMENT, OUTSIDER

T0 = datetime(2026, 5, 1, 12, tzinfo=timezone.utc)
LIMITS = Limits(accounts_per_organization=3)
REFUSED = ["AccessDeniedException", "HandshakeAlreadyInStateException", "HandshakeConstraintViolationException",
           "InvalidHandshakeTransitionException"]
ACCOUNTS = (MANAGEMENT, ALICE, BOB, OUTSIDER)


def tell(client: Callable[[str], Any], clock: Any = None) -> dict[str, Any]:
    """Tell the story with ``client(account)`` (an Organizations client); return the handshake ids
    ("alice", "bob") and the error codes of the refused calls ("refused"), in order."""
    mgmt, alice, bob = client(MANAGEMENT), client(ALICE), client(BOB)
    marks: dict[str, Any] = {"refused": []}
    steps = [
        lambda: mgmt.create_organization(FeatureSet="ALL"),
        lambda: marks.update(alice=mgmt.invite_account_to_organization(
            Target={"Type": "ACCOUNT", "Id": ALICE})["Handshake"]["Id"]),
        lambda: marks.update(bob=mgmt.invite_account_to_organization(
            Target={"Type": "ACCOUNT", "Id": BOB})["Handshake"]["Id"]),
        lambda: mgmt.accept_handshake(HandshakeId=marks["alice"]),
        lambda: alice.accept_handshake(HandshakeId=marks["alice"]),
        lambda: alice.accept_handshake(HandshakeId=marks["alice"]),
        lambda: mgmt.invite_account_to_organization(Target={"Type": "ACCOUNT", "Id": OUTSIDER}),
        lambda: bob.decline_handshake(HandshakeId=marks["bob"]),
        lambda: bob.accept_handshake(HandshakeId=marks["bob"]),
        lambda: mgmt.remove_account_from_organization(AccountId=ALICE),
    ]
    for number, step in enumerate(steps):
        if clock is not None and number:
            clock.tick(60)
        try:
            step()
        except ClientError as error:
            marks["refused"].append(error.response["Error"]["Code"])
    assert marks["refused"] == REFUSED, marks["refused"]
    return marks
